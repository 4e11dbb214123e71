/** run.rerunFrom: a new run (the caller's) of the same plan reusing the succeeded tasks upstream of `stageId` */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'

export const runRerunFrom = protectedProcedure
  .input(z.object({ runId: id, stageId: z.string().min(1).max(200) }).strict())
  .output(z.object({ runId: z.string() }))
  .mutation(({ ctx, input }) =>
    runs.rerunFrom({ runId: input.runId, stageId: input.stageId, source: 'ui', actor: ctx.actor }),
  )
