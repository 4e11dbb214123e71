/** run.cancelTask: cancel one task (the run's owner or an admin) */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, taskControlResult } from '../../schemas.ts'

export const runCancelTask = protectedProcedure
  .input(z.object({ taskId: id }).strict())
  .output(taskControlResult)
  .mutation(({ ctx, input }) => runs.cancelTask({ taskId: input.taskId, actor: ctx.actor }))
