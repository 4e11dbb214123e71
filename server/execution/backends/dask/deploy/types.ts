/**
 * How Dask workers are created for the pools of a run (the dask backend's strategies): local
 * processes, Slurm jobs, HTCondor jobs, or nothing (an existing scheduler and its workers).
 */
import type { EventEmitter } from 'node:events'
import type { PlanPool } from '../../../../workflow/types.ts'
import type { DaskUser } from '../as-user.ts'

/** requested -> pending-in-queue -> starting -> running -> gone (the worker states of server/execution/vocabulary.ts, + `starting`) */
export type DeployedWorkerState = 'requested' | 'pending-in-queue' | 'starting' | 'running' | 'gone'

export interface DeployedWorker {
  /** stable slot id within the run: `<pool>-<i>` */
  slot: string
  pool: string
  /** the Dask worker name it registers with (`<pool>-<i>`, `<pool>-<i>-r<k>` after restarts) */
  name: string
  state: DeployedWorkerState
  /** 'local' | 'slurm' | 'htcondor' */
  batch: string
  /** batch system id: Slurm job id, HTCondor `cluster.proc`; null for local processes */
  jobId: string | null
  /** local process id (local strategy) */
  pid: number | null
  /** why it pends / why it ended (Slurm reason, exit code, ...) */
  reason: string | null
  /** a pending reason that waiting cannot fix */
  hopeless: boolean
  /** restarts (resubmissions) of this slot so far */
  restarts: number
  /** ms since epoch of the last state change */
  since: number
  /** where its output goes (local log file, Slurm .out/.err) */
  logFile: string | null
}

export interface PoolDeployment {
  pool: string
  /** workers wanted (0 while a lazily started pool is not needed) */
  target: number
  workers: DeployedWorker[]
  /** the pool can never get a worker (all slots failed past their restarts, or refused) */
  exhausted: boolean
  reason: string | null
}

export interface DeploymentEvents {
  /** a worker slot changed state */
  worker: [DeployedWorker]
  /** the pool can never get a worker: its tasks must fail with `reason` */
  exhausted: [{ pool: string; reason: string }]
  /** free text for the run log (submissions, restarts, scancel) */
  info: [string]
}

export interface WorkerDeployment extends EventEmitter<DeploymentEvents> {
  readonly kind: 'local' | 'slurm' | 'htcondor' | 'external'
  /** start (or resume) the workers of these pools */
  ensurePools(pools: string[]): Promise<void>
  /** stop the workers of a pool that has nothing to do (lazy strategies); it can be ensured again */
  releasePool(pool: string): Promise<void>
  pools(): PoolDeployment[]
  pool(name: string): PoolDeployment | null
  /** stop every worker (cancel every job) and wait until they are gone */
  stop(): Promise<void>
}

/** the common input of every deployment */
export interface DeploymentOptions {
  pools: PlanPool[]
  /** scheduler address the workers connect to */
  schedulerAddress: string
  /** interpreter on the worker hosts */
  python: string
  /** directory for logs / scripts (shared with the nodes for batch strategies) */
  dir: string
  /** restarts (resubmissions) per worker slot before it stays gone (default 3) */
  maxRestarts?: number
  /** extra environment for the workers */
  env?: Record<string, string>
  /**
   * users mode: the workers run as this OS user (local processes started with its uid/gid; batch
   * jobs submitted as it by the transport) and join the scheduler with the run's mutual TLS
   */
  user?: DaskUser | null
}
