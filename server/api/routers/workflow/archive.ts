/** workflow.archive: Archive or unarchive (owner or admin). */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, workflowSummarySchema } from '../../schemas.ts'

export const workflowArchive = protectedProcedure
  .input(z.object({ id, archived: z.boolean() }).strict())
  .output(workflowSummarySchema)
  .mutation(({ ctx, input }) => lib.setArchived(ctx.db, ctx.actor, input))
