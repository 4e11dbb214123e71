/**
 * The JSON-lines protocol between Node and the Python bridge (`bridge.py`): commands on the
 * bridge's stdin, events on its stdout. One JSON object per line. See bridge.py's docstring.
 */

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

export interface BridgeWorker {
  address: string
  name: string
  host: string | null
  nthreads: number | null
  memoryLimit: number | null
  resources: Record<string, number>
  /** CPUs of the worker's host (once the worker answered) */
  hostCpus?: number | null
  /** pool names from the worker's `pool.<name>` resources */
  pools: string[]
  pool: string | null
  /** the worker process id (on its host) */
  pid: number | null
  /** the batch job id it runs in (SLURM_JOB_ID, the HTCondor job, CONTROLROOM_WORKER_JOB_ID) */
  jobId: string | null
  jobIds?: Record<string, string>
  python?: string
}

export type BridgeTaskState =
  | 'queued'
  | 'no-worker'
  | 'processing'
  | 'running'
  | 'rescheduled'
  | 'finished'
  | 'cancelled'
  | 'lost'
  | 'error'

export interface BridgeTaskEvent {
  event: 'task'
  taskId: string
  key: string
  attempt: number
  state: BridgeTaskState
  ts: number
  pool?: string
  /** queued: no connected worker has the pool's resource */
  noWorker?: boolean
  worker?: string | null
  address?: string | null
  host?: string | null
  pid?: number | null
  jobId?: string | null
  /** running: 1 for the first start, 2 after one reschedule, ... */
  run?: number
  exitCode?: number | null
  signal?: number | null
  timedOut?: boolean
  cancelled?: boolean
  started?: boolean
  durationMs?: number
  stderrTail?: string | null
  error?: string
  /** the number of processes of the task tree still alive after it (should be 0) */
  leftovers?: number
  reason?: string
  message?: string
  traceback?: string
  wasRunning?: boolean
  lostWorker?: string | null
  lostAddress?: string | null
}

export type BridgeEvent =
  | { event: 'hello'; protocol: number; pid: number; python: string; pythonVersion: string; distributed: string }
  | {
      event: 'ready'
      protocol: number
      bridgeId: string
      plugin: boolean
      scheduler: { address: string; id: string | null; dashboard: string | null; dashboardPort: number | null }
      workers: BridgeWorker[]
      distributed: string
    }
  | { event: 'fatal'; message: string }
  | { event: 'worker'; action: 'added' | 'removed'; worker: BridgeWorker; tasks?: string[]; ts: number }
  | { event: 'workers'; workers: BridgeWorker[]; id?: string | number | null }
  | BridgeTaskEvent
  | { event: 'cancel'; taskIds: string[]; killed: Record<string, number>; ts: number }
  | { event: 'error'; message: string; op?: string; taskId?: string }
  | { event: 'pong'; id: string | number; ts: number }
  | { event: 'closed' }

/** pool name -> the Dask resource its workers carry and its tasks require */
export function poolResource(pool: string): string {
  return `pool.${pool}`
}

/** a pool name usable in `--resources pool.<name>=1` (the CLI splits on `,` and `=`) */
export function isValidPoolName(name: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(name)
}
