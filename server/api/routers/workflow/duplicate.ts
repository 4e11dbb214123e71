/** workflow.duplicate: A copy owned by the caller (anyone may duplicate: it is how one gets one's own copy). */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, versionFullSchema, workflowSummarySchema } from '../../schemas.ts'

export const workflowDuplicate = protectedProcedure
  .input(z.object({ id, versionId: id.nullish(), name: z.string().max(200).optional() }).strict())
  .output(z.object({ workflow: workflowSummarySchema, version: versionFullSchema }))
  .mutation(({ ctx, input }) => lib.duplicateWorkflow(ctx.db, ctx.actor, input))
