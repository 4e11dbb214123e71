/**
 * Run events as a typed, discriminated union (on `type`), shared by the engine (which writes them),
 * the store, the bus / stream and the UI (which fold them). Payload schemas are loose objects: a
 * producer may add fields, a consumer reads the declared ones with their types.
 *
 * `parseRunEvent` validates an event that crossed a process boundary (read back from the database,
 * received over the wire); inside one process the types are enough.
 *
 * Pure module: no I/O, safe in the browser.
 */
import { isProblemCode, type ProblemCode } from '../workflow/problem-codes.ts'
import { z } from 'zod'
import {
  ControlActionSchema,
  LogLevelSchema,
  RunStateSchema,
  TaskStateSchema,
  WorkerKindSchema,
  WorkerStateSchema,
} from './vocabulary.ts'

const nullableString = z.string().nullable().optional()

/** a problem of a plan on a site: a pool this host / cluster cannot satisfy, a missing credential */
export const PoolProblemSchema = z.object({
  /**
   * stable kebab-case id, e.g. `host-gpus-insufficient` (problem-codes.ts). A stored event may carry
   * a code this version no longer has: it reads as `unknown-problem`, its message kept.
   */
  code: z.string().transform((c): ProblemCode => (isProblemCode(c) ? c : 'unknown-problem')),
  severity: z.enum(['error', 'warning']),
  /** the pool it concerns (null: the whole plan) */
  pool: z.string().nullable(),
  message: z.string(),
  hint: z.string().optional(),
  /** the config key it concerns (`execution.pools.gpu.config.partition`): where editors place it */
  path: z.string().optional(),
})
export type PoolProblem = z.infer<typeof PoolProblemSchema>

export const RunStatePayloadSchema = z.looseObject({
  /** null for the event that creates the run */
  from: RunStateSchema.nullable(),
  to: RunStateSchema,
  reason: nullableString,
  /** task counts per state when the run changed state */
  counts: z.record(z.string(), z.number()).optional(),
  /** at creation: number of tasks, drivers and the plan's warnings */
  tasks: z.number().optional(),
  backend: z.string().optional(),
  strategy: z.string().optional(),
  warnings: z.array(PoolProblemSchema).optional(),
})

export const TaskStatePayloadSchema = z.looseObject({
  from: TaskStateSchema,
  to: TaskStateSchema,
  attempt: z.number(),
  stage: z.string(),
  pool: z.string(),
  reason: nullableString,
  exitCode: z.number().nullable().optional(),
  signal: nullableString,
  durationMs: z.number().nullable().optional(),
  /** skipped / cancelled because of this upstream task */
  upstream: z.string().optional(),
})

/**
 * How to find a job again. `jobId` is the strategy's external id (`pid:startTicks` for a local process,
 * `exec:<executor>:<task>` for a task on a local executor, `1234` / `1234_5` for Slurm, `87.0` for
 * HTCondor). Stored as Task.batchJobId (jobId) and in the `task.submitted` event (the whole ref), so a
 * restarted server re-attaches without resubmitting.
 */
export const JobRefSchema = z.object({
  taskId: z.string(),
  attempt: z.number(),
  pool: z.string(),
  jobId: z.string(),
  arrayIndex: z.number().nullable().optional(),
  workerId: nullableString,
  host: nullableString,
  pid: z.number().nullable().optional(),
  /** strategy-private data needed to re-attach */
  data: z.record(z.string(), z.unknown()).optional(),
})
export type JobRef = z.infer<typeof JobRefSchema>

export const TaskSubmittedPayloadSchema = z.looseObject({ attempt: z.number(), jobRef: JobRefSchema })

export const TaskInfoPayloadSchema = z.looseObject({
  attempt: z.number(),
  reason: z.string().nullable(),
  raw: nullableString,
})

export const WorkerStatePayloadSchema = z.looseObject({
  from: WorkerStateSchema.nullable(),
  to: WorkerStateSchema,
  pool: z.string(),
  kind: WorkerKindSchema.optional(),
  batchJobId: nullableString,
  reason: nullableString,
})

export const RunLogPayloadSchema = z.looseObject({
  level: LogLevelSchema,
  message: z.string(),
  code: z.string().optional(),
})

export const ControlPayloadSchema = z.looseObject({
  action: ControlActionSchema,
  taskId: z.string().nullable(),
  /** pid of the requesting process (the owner ignores its own requests) */
  from: z.number().optional(),
})

/** the part of an event that depends on its type */
export const EventBodySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run.state'), payload: RunStatePayloadSchema }),
  z.object({ type: z.literal('task.state'), payload: TaskStatePayloadSchema }),
  z.object({ type: z.literal('task.submitted'), payload: TaskSubmittedPayloadSchema }),
  z.object({ type: z.literal('task.info'), payload: TaskInfoPayloadSchema }),
  z.object({ type: z.literal('worker.state'), payload: WorkerStatePayloadSchema }),
  z.object({ type: z.literal('run.log'), payload: RunLogPayloadSchema }),
  z.object({ type: z.literal('control'), payload: ControlPayloadSchema }),
])
export type EventBody = z.infer<typeof EventBodySchema>

export const EventEnvelopeSchema = z.object({
  id: z.number(),
  runId: z.string(),
  /** ISO time */
  at: z.string(),
  taskId: z.string().nullable(),
  workerId: z.string().nullable(),
})

/** an event as stored (Event row) and as emitted on the bus */
export const RunEventSchema = z.intersection(EventEnvelopeSchema, EventBodySchema)
export type RunEvent = z.infer<typeof EventEnvelopeSchema> & EventBody
/** an event before it is stored (no id yet) */
export type NewRunEvent = Omit<z.infer<typeof EventEnvelopeSchema>, 'id' | 'at'> & EventBody

export type EventOf<T extends EventBody['type']> = RunEvent & { type: T }
export type PayloadOf<T extends EventBody['type']> = Extract<EventBody, { type: T }>['payload']

/** validates an event that crossed a process boundary; throws a ZodError naming the bad field */
export function parseRunEvent(value: unknown): RunEvent {
  return RunEventSchema.parse(value) as RunEvent
}

/** like parseRunEvent, but returns null for an event this version does not understand */
export function safeParseRunEvent(value: unknown): RunEvent | null {
  const r = RunEventSchema.safeParse(value)
  return r.success ? (r.data as RunEvent) : null
}

/** narrows an event to one type (for folds: `if (isEvent(e, 'task.state')) e.payload.to`) */
export function isEvent<T extends EventBody['type']>(e: RunEvent, type: T): e is EventOf<T> {
  return e.type === type
}
