/** run.artifacts: artifacts of the run (hep.* histograms, plots, cutflows); download: /runs/<id>/artifacts/<artifactId> */
import { z } from 'zod'
import { listRunArtifacts } from '../../../execution/hep-artifacts.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'
import { RunArtifactsOutput } from './outputs.ts'

export const runArtifacts = protectedProcedure
  .input(z.object({ runId: id }).strict())
  .output(RunArtifactsOutput)
  .query(({ ctx, input }) => listRunArtifacts(ctx.db, input.runId))
