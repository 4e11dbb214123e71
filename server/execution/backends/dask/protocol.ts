/**
 * The JSON-lines protocol between Node and the Python bridge (`bridge.py`): commands on the
 * bridge's stdin, events on its stdout. One JSON object per line. See bridge.py's docstring.
 */

import { z } from 'zod'

export const BRIDGE_PROTOCOL = 1

// ---------------------------------------------------------------- commands (Node -> bridge)

export interface SubmitCommand {
  op: 'submit'
  taskId: string
  /** the Dask key (made unique per attempt; prefixed with the bridge's key prefix) */
  key?: string
  /** the pool whose workers may run it: submitted with resources {"pool.<pool>": 1} */
  pool: string
  /** the task runtime's command line (the same as the local backend's) */
  argv: string[]
  env?: Record<string, string>
  cwd?: string | null
  /** seconds; the worker kills the task's process tree after it (reported as timedOut) */
  timeout?: number | null
  /** engine attempt number (part of the Dask key) */
  attempt?: number
  /** the worker writes {pid, pgid, host, worker, workerPid} there while the task runs */
  pidFile?: string | null
  /** append the runtime process's stdout / stderr there (else: discarded / last 4 KB returned) */
  stdout?: string | null
  stderr?: string | null
  /** seconds between SIGTERM and SIGKILL when the task is cancelled or times out (default 2) */
  grace?: number
}

export interface CancelCommand {
  op: 'cancel'
  taskIds: string[]
  grace?: number
}

export type BridgeCommand =
  | SubmitCommand
  | CancelCommand
  | { op: 'workers'; id?: string | number }
  | { op: 'ping'; id: string | number }
  | { op: 'shutdown' }

// ---------------------------------------------------------------- events (bridge -> Node)
// Checked with zod where they cross into the server (parseBridgeEvent): in users mode the bridge
// is the account's process. Python writes None for an absent value: read here as null/absent.

/** a value Python may leave out or write as None: read as null */
const orNull = <T extends z.ZodType>(s: T) => s.nullish().transform((v): z.output<T> | null => v ?? null)
/** an optional value Python may write as None: read as absent */
const optional = <T extends z.ZodType>(s: T) =>
  s
    .nullish()
    .transform((v): z.output<T> | undefined => v ?? undefined)
    .optional()

export const BridgeWorkerSchema = z.looseObject({
  address: z.string(),
  name: z.string(),
  host: orNull(z.string()),
  nthreads: orNull(z.number()),
  memoryLimit: orNull(z.number()),
  resources: z.record(z.string(), z.number()),
  /** CPUs of the worker's host (once the worker answered) */
  hostCpus: orNull(z.number()).optional(),
  /** pool names from the worker's `pool.<name>` resources */
  pools: z.array(z.string()),
  pool: orNull(z.string()),
  /** the worker process id (on its host) */
  pid: orNull(z.number()),
  /** the batch job id it runs in (SLURM_JOB_ID, the HTCondor job, CONTROLROOM_WORKER_JOB_ID) */
  jobId: orNull(z.string()),
  jobIds: optional(z.record(z.string(), z.string())),
  python: optional(z.string()),
})
export type BridgeWorker = z.output<typeof BridgeWorkerSchema>

export const BRIDGE_TASK_STATES = [
  'queued',
  'no-worker',
  'processing',
  'running',
  'rescheduled',
  'finished',
  'cancelled',
  'lost',
  'error',
] as const
export type BridgeTaskState = (typeof BRIDGE_TASK_STATES)[number]

const text = z.string()
const count = z.number()

export const BridgeTaskEventSchema = z.looseObject({
  event: z.literal('task'),
  taskId: z.string(),
  key: z.string(),
  attempt: z.number(),
  state: z.enum(BRIDGE_TASK_STATES),
  ts: z.number(),
  pool: optional(text),
  /** queued: no connected worker has the pool's resource */
  noWorker: optional(z.boolean()),
  worker: orNull(text).optional(),
  address: orNull(text).optional(),
  host: orNull(text).optional(),
  pid: orNull(count).optional(),
  jobId: orNull(text).optional(),
  /** running: 1 for the first start, 2 after one reschedule, ... */
  run: optional(count),
  exitCode: orNull(count).optional(),
  signal: orNull(count).optional(),
  timedOut: optional(z.boolean()),
  cancelled: optional(z.boolean()),
  started: optional(z.boolean()),
  durationMs: optional(count),
  stderrTail: orNull(text).optional(),
  error: optional(text),
  /** the number of processes of the task tree still alive after it (should be 0) */
  leftovers: optional(count),
  reason: optional(text),
  message: optional(text),
  traceback: optional(text),
  wasRunning: optional(z.boolean()),
  lostWorker: orNull(text).optional(),
  lostAddress: orNull(text).optional(),
})
export type BridgeTaskEvent = z.output<typeof BridgeTaskEventSchema>

const id = z.union([z.string(), z.number()])

export const BridgeEventSchema = z.discriminatedUnion('event', [
  z.looseObject({
    event: z.literal('hello'),
    protocol: z.number(),
    pid: z.number(),
    python: z.string(),
    pythonVersion: z.string(),
    distributed: z.string(),
  }),
  z.looseObject({
    event: z.literal('ready'),
    protocol: z.number(),
    bridgeId: z.string(),
    plugin: z.boolean(),
    scheduler: z.looseObject({
      address: z.string(),
      id: orNull(z.string()),
      dashboard: orNull(z.string()),
      dashboardPort: orNull(z.number()),
    }),
    workers: z.array(BridgeWorkerSchema),
    distributed: z.string(),
  }),
  z.looseObject({ event: z.literal('fatal'), message: z.string() }),
  z.looseObject({
    event: z.literal('worker'),
    action: z.enum(['added', 'removed']),
    worker: BridgeWorkerSchema,
    tasks: optional(z.array(z.string())),
    ts: z.number(),
  }),
  z.looseObject({ event: z.literal('workers'), workers: z.array(BridgeWorkerSchema), id: orNull(id).optional() }),
  BridgeTaskEventSchema,
  z.looseObject({
    event: z.literal('cancel'),
    taskIds: z.array(z.string()),
    killed: z.record(z.string(), z.number()),
    ts: z.number(),
  }),
  z.looseObject({
    event: z.literal('error'),
    message: z.string(),
    op: optional(z.string()),
    taskId: optional(z.string()),
  }),
  z.looseObject({ event: z.literal('pong'), id: orNull(id), ts: z.number() }),
  z.looseObject({ event: z.literal('closed') }),
])
export type BridgeEvent = z.output<typeof BridgeEventSchema>

/** one line of the bridge's stdout: the event, or what is wrong with it (never throws) */
export function parseBridgeEvent(line: string): { ok: true; event: BridgeEvent } | { ok: false; error: string } {
  let raw: unknown
  try {
    raw = JSON.parse(line)
  } catch {
    return { ok: false, error: 'not JSON' }
  }
  const r = BridgeEventSchema.safeParse(raw)
  if (r.success) return { ok: true, event: r.data }
  const first = r.error.issues[0]
  return {
    ok: false,
    error: `not a bridge event: ${first ? `${first.path.join('.') || '(line)'}: ${first.message}` : 'invalid'}`,
  }
}

/** pool name -> the Dask resource its workers carry and its tasks require */
export function poolResource(pool: string): string {
  return `pool.${pool}`
}

/** a pool name usable in `--resources pool.<name>=1` (the CLI splits on `,` and `=`) */
export function isValidPoolName(name: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(name)
}
