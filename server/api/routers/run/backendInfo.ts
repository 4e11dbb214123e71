/** run.backendInfo: backend details of a run: the Dask session (scheduler, dashboard, workers per pool with batch job ids) */
import { z } from 'zod'
import { runBackendInfo as backendInfoOf } from '../../../execution/submitted.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'
import { RunBackendInfoOutput } from './outputs.ts'

export const runBackendInfo = protectedProcedure
  .input(z.object({ runId: id }).strict())
  .output(RunBackendInfoOutput)
  .query(({ ctx, input }) => backendInfoOf(ctx.db, input.runId))
