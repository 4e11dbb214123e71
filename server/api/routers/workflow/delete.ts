/** workflow.delete: Soft delete when runs reference it (they keep their versions), else removed (owner or admin). */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'

export const workflowDelete = protectedProcedure
  .input(z.object({ id }).strict())
  .output(z.object({ id: z.string(), mode: z.enum(['soft', 'hard']), runs: z.number() }))
  .mutation(({ ctx, input }) => lib.deleteWorkflow(ctx.db, ctx.actor, input))
