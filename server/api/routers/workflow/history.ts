/** workflow.history: All versions, newest first. */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, versionSummarySchema, workflowSummarySchema } from '../../schemas.ts'

export const workflowHistory = protectedProcedure
  .input(z.object({ id }).strict())
  .output(
    z.object({
      workflow: workflowSummarySchema,
      versions: z.array(versionSummarySchema.extend({ isHead: z.boolean(), runCount: z.number() })),
    }),
  )
  .query(({ ctx, input }) => lib.history(ctx.db, input.id))
