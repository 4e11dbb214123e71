/**
 * workflow.*: the library. One procedure per file (zod input and output); the domain is
 * server/library/workflows.ts. This file only composes.
 */
import { createTRPCRouter } from '../../trpc.ts'
import { workflowList } from './list.ts'
import { workflowGet } from './get.ts'
import { workflowVersion } from './version.ts'
import { workflowHistory } from './history.ts'
import { workflowDiff } from './diff.ts'
import { workflowSaveVersion } from './saveVersion.ts'
import { workflowRename } from './rename.ts'
import { workflowDuplicate } from './duplicate.ts'
import { workflowArchive } from './archive.ts'
import { workflowDelete } from './delete.ts'
import { workflowImport } from './import.ts'
import { workflowExport } from './export.ts'

export const workflowRouter = createTRPCRouter({
  list: workflowList,
  get: workflowGet,
  version: workflowVersion,
  history: workflowHistory,
  diff: workflowDiff,
  saveVersion: workflowSaveVersion,
  rename: workflowRename,
  duplicate: workflowDuplicate,
  archive: workflowArchive,
  delete: workflowDelete,
  import: workflowImport,
  export: workflowExport,
})
