/**
 * The `dask worker` and `dask scheduler` command lines (argv, never shell strings). Run with the
 * configured interpreter as `python -m distributed.cli.dask_worker` so that the interpreter choice
 * holds even where the `dask` console script belongs to another Python.
 */
import type { PlanPool } from '../../../../workflow/types.ts'
import { poolResource } from '../protocol.ts'
import { type DaskTls, tlsCliArgs } from '../as-user.ts'

export interface WorkerCommandOptions {
  python: string
  schedulerAddress: string
  pool: PlanPool
  name: string
  /** worker scratch directory (spilling, worker files) */
  localDirectory?: string | null
  /** seconds the worker waits for an unreachable scheduler before exiting (default 60) */
  deathTimeout?: number
  /** shut the worker down gracefully after this many seconds (batch walltime minus a margin) */
  lifetime?: number | null
  /** listen on this host (batch nodes: leave unset, Dask picks the node's address) */
  host?: string | null
  /** use a nanny (default false: the worker IS the process we start, so its pid/job is the worker) */
  nanny?: boolean
  /** users mode: join the scheduler with the run's mutual TLS (files readable by the worker's user) */
  tls?: DaskTls | null
}

/**
 * One worker per process, one thread, and the pool's resource `pool.<name>=1`: each worker runs
 * one task at a time and only tasks annotated with its pool.
 */
export function daskWorkerArgv(o: WorkerCommandOptions): string[] {
  const argv = [
    o.python,
    '-m',
    'distributed.cli.dask_worker',
    o.schedulerAddress,
    '--nthreads',
    '1',
    '--nworkers',
    '1',
    o.nanny ? '--nanny' : '--no-nanny',
    '--resources',
    `${poolResource(o.pool.name)}=1`,
    '--name',
    o.name,
    '--no-dashboard',
    '--death-timeout',
    String(positive(o.pool.config?.deathTimeoutSeconds) ?? o.deathTimeout ?? 60),
  ]
  // the pool's memory, else the workflow's `memory_limit` (fasthep-flow / LocalCluster)
  const memory = positive(o.pool.resources.memoryBytes) ?? positive(o.pool.config?.memoryLimitBytes)
  if (memory) argv.push('--memory-limit', String(memory))
  if (o.localDirectory) argv.push('--local-directory', o.localDirectory)
  if (o.lifetime && o.lifetime > 0) argv.push('--lifetime', `${Math.floor(o.lifetime)}s`, '--lifetime-stagger', '0s')
  if (o.host) argv.push('--host', o.host)
  if (o.tls) argv.push(...tlsCliArgs(o.tls))
  // fasthep-flow / dask-jobqueue `worker_extra_args` of the pool (or execution.config), appended as given
  const extra = o.pool.config?.worker_extra_args
  if (Array.isArray(extra)) argv.push(...extra.map(String))
  return argv
}

const positive = (v: unknown): number | null => (typeof v === 'number' && v > 0 ? v : null)

export interface SchedulerCommandOptions {
  python: string
  schedulerFile: string
  /** interface to listen on: 127.0.0.1 for local workers, the host's address for batch workers */
  host: string
  /** 0 = a free port */
  port?: number
  /** the dashboard / health HTTP server (`/health` answers even without bokeh); null = none */
  dashboardAddress?: string | null
}

export function daskSchedulerArgv(o: SchedulerCommandOptions): string[] {
  const argv = [
    o.python,
    '-m',
    'distributed.cli.dask_scheduler',
    '--host',
    o.host,
    '--port',
    String(o.port ?? 0),
    '--scheduler-file',
    o.schedulerFile,
    '--no-show',
  ]
  if (o.dashboardAddress === null) argv.push('--no-dashboard')
  else argv.push('--dashboard-address', o.dashboardAddress ?? `${o.host}:0`)
  return argv
}

/** worker lifetime for a batch walltime: leave a margin so the worker retires before the job is killed */
export function lifetimeForWalltime(walltimeSeconds: number | null | undefined): number | null {
  if (!walltimeSeconds || walltimeSeconds <= 0) return null
  const margin = Math.min(300, Math.max(30, walltimeSeconds * 0.05))
  return walltimeSeconds > margin * 2 ? walltimeSeconds - margin : null
}

/**
 * For processes we start on this host (scheduler, local workers): `python -m module args` becomes
 * `python -c <prctl(PR_SET_PDEATHSIG, SIGKILL); run module> args`, so they die with the Node
 * process that started them even when it is killed with SIGKILL (no orphan scheduler or worker;
 * a worker's reaper then kills the task trees it was running).
 */
export function withParentDeathSignal(argv: string[], parentPid = process.pid): string[] {
  if (argv[1] !== '-m' || !argv[2]) return argv
  const code = [
    'import ctypes, os, runpy, sys',
    'try:',
    '    ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)',
    'except Exception:',
    '    pass',
    `if os.getppid() != ${parentPid}:`,
    '    sys.exit(70)',
    `runpy.run_module(${JSON.stringify(argv[2])}, run_name="__main__", alter_sys=True)`,
  ].join('\n')
  return [argv[0]!, '-c', code, ...argv.slice(3)]
}
