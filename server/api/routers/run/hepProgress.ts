/** run.hepProgress: hep.* stages: partitions done / total and events processed, per stage and dataset */
import { z } from 'zod'
import { hepProgress } from '../../../execution/hep-artifacts.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'
import { RunHepProgressOutput } from './outputs.ts'

export const runHepProgress = protectedProcedure
  .input(z.object({ runId: id }).strict())
  .output(RunHepProgressOutput)
  .query(({ ctx, input }) => hepProgress(ctx.db, input.runId))
