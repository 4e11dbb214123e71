/**
 * zod schemas shared by the tRPC procedures (inputs and outputs). Each is declared once here; the
 * types they check are the domain's (server/library, server/execution).
 */
import { z } from 'zod'

export const id = z.string().min(1).max(100)

/** run.start, run.preview, plan.preview: run a plan on another backend / strategy */
export const overrides = z
  .object({
    backend: z.enum(['local', 'dask']).optional(),
    strategy: z.enum(['local', 'slurm', 'htcondor']).optional(),
  })
  .strict()
  .optional()

const pos = z.object({ line: z.number(), col: z.number(), offset: z.number() })
/** a compiler problem (server/workflow/types.ts Problem) */
export const problemSchema = z.object({
  code: z.string(),
  severity: z.enum(['error', 'warning']),
  message: z.string(),
  hint: z.string().optional(),
  range: z.object({ start: pos, end: pos }),
  path: z.array(z.union([z.string(), z.number()])),
})

export const versionSummarySchema = z.object({
  id: z.string(),
  workflowId: z.string(),
  number: z.number(),
  parentId: z.string().nullable(),
  message: z.string(),
  author: z.string(),
  createdAt: z.date(),
  valid: z.boolean(),
  errorCount: z.number(),
  warningCount: z.number(),
  planHash: z.string().nullable(),
  backend: z.string().nullable(),
  strategy: z.string().nullable(),
})

export const versionFullSchema = versionSummarySchema.extend({ yaml: z.string(), problems: z.array(problemSchema) })

export const workflowSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  owner: z.string().nullable(),
  ownerId: z.string().nullable(),
  archived: z.boolean(),
  archivedAt: z.date().nullable(),
  deletedAt: z.date().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
  versionCount: z.number(),
  head: versionSummarySchema.nullable(),
  lastRun: z
    .object({ id: z.string(), state: z.string(), createdAt: z.date(), finishedAt: z.date().nullable() })
    .nullable(),
})

export const saveResultSchema = z.object({
  workflow: workflowSummarySchema,
  version: versionFullSchema,
  createdWorkflow: z.boolean(),
  unchanged: z.boolean(),
})

/** run.cancel: done here, or forwarded to the process that owns the run */
export const runControlResult = z.object({ runId: z.string(), forwarded: z.boolean() })
/** run.cancelTask, run.retryTask */
export const taskControlResult = z.object({ taskId: z.string(), forwarded: z.boolean() })

export const lineDiffSchema = z.object({
  identical: z.boolean(),
  added: z.number(),
  removed: z.number(),
  unchanged: z.number(),
  hunks: z.array(z.object({ oldStart: z.number(), oldLines: z.number(), newStart: z.number(), newLines: z.number() })),
})
