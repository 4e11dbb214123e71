/** run.get: the run, per-stage counts, pools with their workers, and the last event id (subscribe from it) */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'
import { RunGetOutput } from './outputs.ts'

export const runGet = protectedProcedure
  .input(z.object({ runId: id }).strict())
  .output(RunGetOutput)
  .query(({ ctx, input }) => runs.getRun(ctx.db, input.runId))
