/** run.start: freeze a version's plan and start a run as the caller (owner or admin; refused: NOT_RUNNABLE with details.problems) */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, overrides } from '../../schemas.ts'

export const runStart = protectedProcedure
  .input(z.object({ versionId: id, overrides }).strict())
  .output(
    z.object({
      runId: z.string(),
      warnings: z.array(z.object({ pool: z.string().nullable(), message: z.string() }).loose()),
    }),
  )
  .mutation(({ ctx, input }) =>
    runs.startRun({ versionId: input.versionId, overrides: input.overrides, source: 'ui', actor: ctx.actor }),
  )
