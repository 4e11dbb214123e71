/**
 * Dask's own keys in `execution.config` or a pool's `config` (fasthep-flow passes them to
 * LocalCluster / dask-jobqueue; its `dask_local` profile sets several). With backend dask each one
 * is either honoured by Control Room's Dask deployment or refused here with a hint: none is
 * accepted and then dropped.
 *
 *   honoured: threads_per_worker / nthreads = 1 and processes = true (what every worker is),
 *             memory_limit (the worker's --memory-limit where the pool sets no memory),
 *             death_timeout (the worker's --death-timeout), dashboard_address (the scheduler
 *             Control Room starts), scheduler_address (an existing scheduler)
 *   refused:  other thread/process layouts, adaptive, interface, scheduler_options, worker_options
 *
 * With backend local they warn (`dask-only-option`, in pools.ts): there is no Dask to give them to.
 */
import type { Path } from '../source.ts'
import { tryParseDuration, tryParseMemory } from '../units.ts'
import type { CompileState, Obj } from './state.ts'
import { DURATION_HINT, MEMORY_HINT } from './state.ts'

const REFUSED: Record<string, { why: string; hint: string }> = {
  adaptive: {
    why: 'Control Room scales each pool itself',
    hint: 'remove it; with worker_start: lazy a pool gets its workers when its tasks are ready and releases them after worker_idle_timeout seconds idle',
  },
  interface: {
    why: 'Control Room chooses the addresses of the scheduler and workers it starts',
    hint: 'remove it; set scheduler_host for the scheduler started for batch workers',
  },
  scheduler_options: {
    why: 'the scheduler is started by Control Room with its own options',
    hint: 'remove it; dashboard_address is honoured, or give scheduler_address to use a scheduler you start yourself',
  },
  worker_options: {
    why: 'the worker command is built by Control Room',
    hint: 'remove it; put extra worker command-line arguments in worker_extra_args',
  },
}

const isOne = (v: unknown) => v === 1 || v === '1'

/** Report what cannot be honoured in `config` (found at `path`); backend dask only. */
export function checkDaskConfig(st: CompileState, config: Obj, path: Path): void {
  if (st.backend !== 'dask') return
  const { ctx } = st
  for (const key of ['threads_per_worker', 'nthreads'] as const) {
    if (config[key] !== undefined && !isOne(config[key]))
      ctx.error(
        'unsupported-option',
        `'${key}: ${String(config[key])}' cannot be honoured: each Control Room Dask worker runs one task at a time (one thread)`,
        [...path, key],
        { hint: "remove it (1 is what every worker has); raise the pool's workers to run more tasks at once" },
      )
  }
  if (config.processes !== undefined && config.processes !== true)
    ctx.error(
      'unsupported-option',
      `'processes: ${String(config.processes)}' cannot be honoured: every Control Room Dask worker is a process of its own`,
      [...path, 'processes'],
      { hint: 'remove it' },
    )
  for (const [key, r] of Object.entries(REFUSED))
    if (config[key] !== undefined)
      ctx.error('unsupported-option', `'${key}' is not supported: ${r.why}`, [...path, key], {
        at: 'key',
        hint: r.hint,
      })
  if (config.memory_limit !== undefined && !tryParseMemory(config.memory_limit).ok)
    ctx.error(
      'invalid-memory',
      `cannot read memory_limit: ${describe(config.memory_limit)}`,
      [...path, 'memory_limit'],
      {
        hint: MEMORY_HINT,
      },
    )
  if (config.death_timeout !== undefined && !tryParseDuration(config.death_timeout, { bareUnit: 'seconds' }).ok)
    ctx.error(
      'invalid-duration',
      `cannot read death_timeout: ${describe(config.death_timeout)}`,
      [...path, 'death_timeout'],
      { hint: DURATION_HINT + ' (a plain number is seconds, as in Dask)' },
    )
  // dashboard_address: a string (the schema checks it), read by the Dask session
}

/**
 * The worker settings a pool's Dask workers are started with, read from `config` (no problems:
 * `checkDaskConfig` reports them): `memoryLimitBytes`, `deathTimeoutSeconds`.
 */
export function daskWorkerSettings(st: CompileState, config: Obj): Obj {
  if (st.backend !== 'dask') return {}
  const out: Obj = {}
  const mem = config.memory_limit !== undefined ? tryParseMemory(config.memory_limit) : null
  if (mem?.ok) out.memoryLimitBytes = mem.value
  const death =
    config.death_timeout !== undefined ? tryParseDuration(config.death_timeout, { bareUnit: 'seconds' }) : null
  if (death?.ok) out.deathTimeoutSeconds = death.value
  return out
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'a list' : String(v)
}
