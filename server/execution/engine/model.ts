/**
 * What the engine holds in memory for each run it drives (ActiveRun, TaskRec), its options, and the
 * face the engine shows its own modules (EngineCore): the write queue, the runs, the log.
 */
import type { CredentialPolicyMode } from '../../credentials/index.ts'
import type { Db } from '../../db/client.ts'
import type { ExecutionPlan, PlanStage } from '../../workflow/types.ts'
import type { LongTimer } from '../long-timer.ts'
import type { Partition } from '../partition.ts'
import type { EngineStore } from '../store.ts'
import type {
  Backend,
  BackendSession,
  HostCapacity,
  JobRef,
  PoolProblem,
  RunAs,
  RunState,
  Strategy,
  TaskState,
  WorkerState,
} from '../types.ts'
import type { WriteQueue } from './write-queue.ts'

export class RunRefusedError extends Error {
  constructor(
    message: string,
    readonly problems: PoolProblem[],
  ) {
    super(message)
    this.name = 'RunRefusedError'
  }
}

export interface EngineOptions {
  db?: Db
  url?: string
  /** override what this host provides (tests) */
  host?: Partial<HostCapacity>
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void
  /** wait this long before writing a batch of state changes (ms); default 0: group commit (write-queue.ts) */
  flushIntervalMs?: number
  /** how often the engine looks for control requests from other processes (ms) */
  controlPollMs?: number
  /** extra attempts for `lost` tasks (default 1) */
  lostRetries?: number
  /** first retry's backoff (ms, doubling per retry; default policy.ts RETRY_BASE_MS) */
  retryBackoffMs?: number
  /** extra seconds after a task's timeout before the engine itself kills it (the runtime enforces the timeout first) */
  timeoutGraceSeconds?: number
  /** credential policy for every run (default: the plan's execution.config.credential_policy, $CONTROLROOM_CREDENTIAL_POLICY, else refuse) */
  credentialPolicy?: CredentialPolicyMode
  /** environment credentials are discovered in (default process.env; tests) */
  credentialEnv?: Record<string, string | undefined>
}

export interface RunOptions {
  owner?: { pid: number; startTicks: number | null; host: string }
  overrides?: { backend?: string; strategy?: string }
  lostRetries?: number
  reusedFrom?: string
  rerunFromStage?: string
  cancelRequested?: boolean
  /** run the executors and tasks of this run as this OS user (users mode; types.ts RunAsSchema) */
  runAs?: RunAs
  [k: string]: unknown
}

export interface TaskRec {
  id: string
  stageId: string
  pool: string
  partition: Partition | null
  state: TaskState
  attempt: number
  maxRetries: number
  retriesUsed: number
  lostUsed: number
  deps: TaskRec[]
  dependants: TaskRec[]
  unmet: number
  timeoutSeconds: number | null
  taskDir: string
  ref: JobRef | null
  workerId: string | null
  startedAt: number | null
  cancelRequested: boolean
  engineTimedOut: boolean
  inReady: boolean
  /** outputs directory of a reused task (rerunFrom) */
  reusedDir: string | null
}

export interface ActiveRun {
  id: string
  plan: ExecutionPlan
  runDir: string
  state: RunState
  options: RunOptions
  tasks: Map<string, TaskRec>
  byStage: Map<string, TaskRec[]>
  stages: Map<string, PlanStage>
  ready: Map<string, TaskRec[]>
  pendingDispatch: Map<string, number>
  open: number
  /** its tasks handed to the backend and not ended (queued or running): see WriteQueue's busy() */
  inFlight: number
  backend: Backend
  strategy: Strategy
  session: BackendSession | null
  cancelRequested: boolean
  waiters: ((s: RunState) => void)[]
  timers: Map<string, LongTimer>
  workers: Map<string, { state: WorkerState; pool: string }>
  finishing: boolean
  pumpScheduled: boolean
}

/** what the engine's modules (scheduling, outcomes, control, reattach) share */
export interface EngineCore {
  readonly opts: EngineOptions
  readonly db: Db
  readonly store: EngineStore
  readonly writes: WriteQueue
  readonly runs: Map<string, ActiveRun>
  readonly identity: { pid: number; startTicks: number | null; host: string }
  log(level: 'info' | 'warn' | 'error', msg: string): void
  openSession(run: ActiveRun): Promise<void>
  startControlPolling(): void
  flush(): Promise<void>
}
