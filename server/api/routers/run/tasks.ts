/** run.tasks: tasks of a run: filters, sort, cursor pages */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
import { TASK_STATES } from '../../../execution/types.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'
import { RunTasksOutput } from './outputs.ts'

export const runTasks = protectedProcedure
  .input(
    z
      .object({
        runId: id,
        state: z.union([z.enum(TASK_STATES), z.array(z.enum(TASK_STATES)).max(8)]).optional(),
        pool: z.string().max(100).optional(),
        stage: z.string().max(200).optional(),
        worker: id.optional(),
        withQueued: z.boolean().optional(),
        sort: z.enum(['index', 'duration', '-duration', 'started', '-started', 'state']).optional(),
        cursor: z.number().int().min(0).nullish(),
        limit: z.number().int().min(1).max(1000).default(100),
      })
      .strict(),
  )
  .output(RunTasksOutput)
  .query(({ ctx, input }) => runs.listTasks(ctx.db, input))
