/** run.log: a chunk of a task's log (stdout | stderr), redacted, from `offset`; `tail` gives the last `limit` bytes */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
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
    }),
  )
  .query(({ ctx, input }) => runs.readLog(ctx.db, input))
