/** workflow.list: Library list with search and filters. */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { workflowSummarySchema } from '../../schemas.ts'

export const workflowList = protectedProcedure
  .input(
    z
      .object({
        search: z.string().max(200).optional(),
        valid: z.boolean().optional(),
        backend: z.string().max(50).optional(),
        lastRunState: z.string().max(50).optional(),
        includeArchived: z.boolean().optional(),
        archivedOnly: z.boolean().optional(),
        limit: z.number().int().min(1).max(1000).optional(),
      })
      .strict()
      .optional(),
  )
  .output(z.object({ items: z.array(workflowSummarySchema), total: z.number() }))
  .query(({ ctx, input }) => lib.listWorkflows(ctx.db, input ?? {}))
