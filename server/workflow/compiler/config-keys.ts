/**
 * Which `config` keys something in Control Room reads. `execution.config` and a pool's `config`
 * are open mappings (fasthep-flow hands them to dask-jobqueue), so a key nothing reads used to be
 * accepted and then ignored; now it is a warning at the key, with the spelling it may have meant.
 * A key read in `execution.config` only (the run-wide Dask scheduler settings) is a warning in a
 * pool's config, pointing to where it works.
 */
import type { Path } from '../source.ts'
import { DASK_ONLY_CONFIG_KEYS } from '../catalog.ts'
import { didYouMean } from '../suggest.ts'
import type { CompileState, Obj } from './state.ts'

/** Read from a pool's config; in `execution.config` they apply to every pool (fasthep-flow). */
export const POOL_KEYS = [
  // every batch strategy
  'walltime',
  'time',
  'extra',
  'job_extra_directives',
  'tasks_per_job',
  'constraint',
  // Slurm
  'partition',
  'account',
  'qos',
  'constraints',
  'gpu_type',
  'gpuType',
  // HTCondor
  'queue',
  'flavour',
  'job_flavour',
  'JobFlavour',
  'jobFlavour',
  'requirements',
  'accounting_group',
  'accountingGroup',
  'accounting_group_user',
  'accountingGroupUser',
  'universe',
  'maxruntime',
  // the Dask worker command (dask-config.ts)
  'worker_extra_args',
  'memory_limit',
  'death_timeout',
  'threads_per_worker',
  'nthreads',
  'processes',
] as const

/** Refused with their own message (pools.ts, dask-config.ts). */
const REFUSED_KEYS = ['log_directory', 'adaptive', 'interface', 'scheduler_options', 'worker_options'] as const

/** Read from `execution.config` only: the run as a whole. */
const RUN_KEYS = [
  'workers',
  'n_workers',
  'credential_policy',
  'credentialPolicy',
  'credentials', // { policy } (credentials/policy.ts)
  'retries',
  'python',
  'pythonpath',
  'noop',
  'chunk_size',
  'chunksize',
  'hep_runtime',
  // the Dask session (backends/dask.ts)
  'scheduler_address',
  'scheduler_host',
  'dashboard_address',
  'worker_python',
  'worker_start',
  'worker_idle_timeout',
  'worker_restarts',
  'no_worker_timeout',
  'worker_start_timeout',
  'connect_timeout',
] as const

const POOL = new Set<string>([...POOL_KEYS, ...REFUSED_KEYS])
const RUN = new Set<string>(RUN_KEYS)
const DASK_ONLY = new Set<string>(DASK_ONLY_CONFIG_KEYS)

/** Warn about the keys of `config` (at `path`) that nothing reads there. */
export function checkConfigKeys(st: CompileState, config: Obj, path: Path, where: 'execution' | 'pool'): void {
  for (const key of Object.keys(config)) {
    if (POOL.has(key) || (where === 'execution' && RUN.has(key))) continue
    // with backend local these are reported as dask-only options already
    if (st.backend !== 'dask' && DASK_ONLY.has(key)) continue
    if (RUN.has(key)) {
      st.ctx.warn(
        'unknown-option',
        `'${key}' applies to the whole run: in a pool's config nothing reads it, so it would be ignored`,
        [...path, key],
        { at: 'key', hint: `move it to execution.config` },
      )
      continue
    }
    const known = where === 'execution' ? [...POOL_KEYS, ...RUN_KEYS] : [...POOL_KEYS]
    const dym = didYouMean(key, known)
    st.ctx.warn('unknown-option', `'${key}' is read by nothing in Control Room: it would be ignored`, [...path, key], {
      at: 'key',
      hint: dym ?? 'remove it, or see the README (Workflow language) for the config keys each strategy reads',
    })
  }
}
