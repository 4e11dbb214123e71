/** run.logLines: the run-wide log: every task's lines (a page of tasks at a time) with task, stage, pool, state and time */
import { z } from 'zod'
import { readRunLogLines } from '../../../execution/run-log.ts'
import { TASK_STATES } from '../../../execution/types.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'
import { RunLogLinesOutput } from './outputs.ts'

export const runLogLines = protectedProcedure
  .input(
    z
      .object({
        runId: id,
        stage: z.string().max(200).optional(),
        pool: z.string().max(100).optional(),
        state: z.union([z.enum(TASK_STATES), z.array(z.enum(TASK_STATES)).max(8)]).optional(),
        cursor: z.number().int().min(0).nullish(),
      })
      .strict(),
  )
  .output(RunLogLinesOutput)
  .query(({ ctx, input }) => readRunLogLines(ctx.db, input))
