/** overview.launch: start a run of a version with run parameters (stage params / execution keys for this run only) */
import { z } from 'zod'
import { launchRun } from '../../../operations/launch.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, runParameterSchema } from './schemas.ts'

export const overviewLaunch = protectedProcedure
  .input(z.object({ versionId: id, parameters: z.array(runParameterSchema).max(100) }).strict())
  .output(
    z.object({
      runId: z.string(),
      warnings: z.array(
        z.object({ pool: z.string().nullable(), message: z.string(), hint: z.string().optional() }).loose(),
      ),
    }),
  )
  .mutation(({ ctx, input }) => launchRun({ ...input, source: 'ui', actor: ctx.actor }))
