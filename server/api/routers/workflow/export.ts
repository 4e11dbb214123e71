/** workflow.export: The YAML of a version (default: head) and a file name for it. */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'

export const workflowExport = protectedProcedure
  .input(z.object({ id, versionId: id.nullish() }).strict())
  .output(z.object({ fileName: z.string(), yaml: z.string(), version: z.number() }))
  .query(({ ctx, input }) => lib.exportWorkflow(ctx.db, input))
