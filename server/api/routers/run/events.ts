/**
 * run.events: live events of one run (or of all runs without runId), in batches shared by every
 * viewer (server/execution/stream.ts). Each message is `{ json }` (decodeStreamMessage: `{ events,
 * coalesced }`) tracked by its last event id: a reconnect (lastEventId) resumes with no gap and no
 * duplicate.
 */
import { z } from 'zod'
import { streamRunEvents } from '../../../execution/stream.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'

export const runEvents = protectedProcedure
  .input(
    z
      .object({
        runId: id.nullish(),
        lastEventId: z
          .string()
          .regex(/^\d{1,15}$/)
          .nullish(),
      })
      .strict(),
  )
  .subscription(({ ctx, input, signal }) =>
    streamRunEvents(ctx.db, {
      runId: input.runId ?? null,
      lastEventId: input.lastEventId != null ? Number(input.lastEventId) : null,
      signal,
    }),
  )
