/** overview.runOrigin: how a run was launched: its run parameters, backend/strategy overrides, and what it resumed */
import { z } from 'zod'
import { runOrigin } from '../../../operations/launch.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from './schemas.ts'

export const overviewRunOrigin = protectedProcedure
  .input(z.object({ runId: id }).strict())
  .output(
    z.object({
      parameters: z.array(z.object({ key: z.string(), value: z.string() })),
      overrides: z.object({ backend: z.string().optional(), strategy: z.string().optional() }).nullable(),
      resumedFrom: z
        .object({
          runId: z.string(),
          stages: z.array(z.object({ stageId: z.string(), verdict: z.string(), reason: z.string() })),
        })
        .nullable(),
    }),
  )
  .query(({ ctx, input }) => runOrigin(ctx.db, input.runId))
