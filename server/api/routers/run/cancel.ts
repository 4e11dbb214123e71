/** run.cancel: cancel a run (its owner or an admin) */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, runControlResult } from '../../schemas.ts'

export const runCancel = protectedProcedure
  .input(z.object({ runId: id }).strict())
  .output(runControlResult)
  .mutation(({ ctx, input }) => runs.cancelRun({ runId: input.runId, actor: ctx.actor }))
