/**
 * The lines an executor (runtime/executor.mjs) appends to its events.jsonl, as the server reads
 * them. They cross a process boundary (and, with runAs, a user boundary): every line is validated
 * here; a line that does not parse is reported and skipped, never trusted.
 */
import { z } from 'zod'

export const TaskResultSchema = z.object({
  version: z.literal(1),
  taskId: z.string(),
  attempt: z.number().int(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  cancelled: z.boolean(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  metrics: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  host: z.string(),
  pid: z.number().int(),
})

export const ExecutorMessageSchema = z.discriminatedUnion('t', [
  z.object({
    v: z.literal(1),
    t: z.literal('hello'),
    id: z.string(),
    pid: z.number().int(),
    startTicks: z.number().nullable(),
    host: z.string(),
    at: z.string(),
  }),
  z.object({
    v: z.literal(1),
    t: z.literal('started'),
    taskId: z.string(),
    attempt: z.number().int(),
    /** the command's pid (its own process group), or the executor's for a module task */
    pid: z.number().int(),
    pgid: z.number().int().nullable(),
    at: z.string(),
  }),
  z.object({
    v: z.literal(1),
    t: z.literal('finished'),
    taskId: z.string(),
    attempt: z.number().int(),
    result: TaskResultSchema,
  }),
  z.object({
    v: z.literal(1),
    t: z.literal('failed'),
    taskId: z.string(),
    attempt: z.number().int(),
    reason: z.string(),
  }),
  z.object({ v: z.literal(1), t: z.literal('bye'), reason: z.string() }),
])
export type ExecutorMessage = z.infer<typeof ExecutorMessageSchema>

/** parses one line; returns an error message instead of throwing */
export function parseExecutorLine(line: string): { ok: true; msg: ExecutorMessage } | { ok: false; error: string } {
  let raw: unknown
  try {
    raw = JSON.parse(line)
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}` }
  }
  const r = ExecutorMessageSchema.safeParse(raw)
  if (r.success) return { ok: true, msg: r.data }
  return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; ') }
}
