/** workflow.rename: Rename (owner or admin). */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, workflowSummarySchema } from '../../schemas.ts'

export const workflowRename = protectedProcedure
  .input(z.object({ id, name: z.string().max(200), description: z.string().max(5000).optional() }).strict())
  .output(workflowSummarySchema)
  .mutation(({ ctx, input }) => lib.renameWorkflow(ctx.db, ctx.actor, input))
