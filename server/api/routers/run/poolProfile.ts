/** run.poolProfile: profile modifier results per pool: tasks profiled, total / mean CPU, total wall, max peak RSS */
import { z } from 'zod'
import { poolProfileSummary } from '../../../execution/profile-summary.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'
import { RunPoolProfileOutput } from './outputs.ts'

export const runPoolProfile = protectedProcedure
  .input(z.object({ runId: id }).strict())
  .output(RunPoolProfileOutput)
  .query(({ ctx, input }) => poolProfileSummary(ctx.db, input.runId))
