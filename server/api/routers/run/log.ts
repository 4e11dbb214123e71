/**
 * run.log: a chunk of a task's log (stdout | stderr), redacted, from `offset`; `tail` gives the last
 * `limit` bytes; `times` adds when each line starting in the chunk was written (`lineTimes`, one per
 * line of `text`; `continues`: the first line of `text` is the end of a line begun before the chunk)
 */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
import { readTimedLog } from '../../../operations/log-times.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'

export const runLog = protectedProcedure
  .input(
    z
      .object({
        taskId: id,
        stream: z.enum(['stdout', 'stderr']).default('stdout'),
        offset: z.number().int().min(0).optional(),
        limit: z
          .number()
          .int()
          .min(1)
          .max(1 << 20)
          .optional(),
        tail: z.boolean().optional(),
        times: z.boolean().optional(),
      })
      .strict(),
  )
  .output(
    z.object({
      text: z.string(),
      offset: z.number(),
      nextOffset: z.number(),
      size: z.number(),
      eof: z.boolean(),
      done: z.boolean(),
      path: z.string(),
      lineTimes: z.array(z.number().nullable()).optional(),
      continues: z.boolean().optional(),
    }),
  )
  .query(async ({ ctx, input }) => {
    const { times, ...read } = input
    if (!times) return runs.readLog(ctx.db, read)
    const task = await ctx.db.task.findUnique({ where: { id: read.taskId }, select: { startedAt: true } })
    const c = await readTimedLog(ctx.db, read, { taskStart: task?.startedAt?.getTime() ?? null })
    const { lines, continues, open: _open, ...rest } = c
    return { ...rest, lineTimes: lines.map((l) => l.at), continues }
  })
