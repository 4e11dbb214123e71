/**
 * Static catalogues of the workflow language: built-in ops, execution modifiers, backends,
 * strategies and environment types. Used by the compiler, the JSON Schema and the editor.
 */
import { BACKEND_NAMES, type StrategyName } from '../execution/vocabulary.ts'
import type { BuiltinOpInfo, ModifierInfo } from './types.ts'

export const BACKENDS = BACKEND_NAMES
/** `default` is accepted on input and normalised to `local` (fasthep-flow's default strategy). */
export const STRATEGIES = ['local', 'default', 'slurm', 'htcondor'] as const satisfies readonly (
  | StrategyName
  | 'default'
)[]
export const ENVIRONMENT_TYPES = ['shared-fs', 'packed-pixi', 'conda-pack'] as const

export const KNOWN_MODIFIERS: readonly ModifierInfo[] = [
  {
    name: 'gpu.preload',
    description:
      "Sets FASTHEP_GPU_PRELOAD=1 and CONTROLROOM_GPU_DEVICE=<device> in the task's environment; the op decides whether to preload its inputs onto that GPU (Control Room moves no data).",
    requiresGpu: true,
    params: {
      device: { type: 'integer', description: 'CUDA device index (default 0)' },
    },
  },
  {
    name: 'cuda.jit',
    description:
      "Sets FASTHEP_CUDA_JIT=1 in the task's environment (cache: true also sets NUMBA_CACHE_DIR to <run>/.numba-cache); the op decides whether to JIT-compile its kernels.",
    requiresGpu: true,
    params: {
      cache: { type: 'boolean', description: 'cache compiled kernels between tasks' },
    },
  },
  {
    name: 'profile',
    description: 'Profile the stage (wall and CPU time per task, optional cProfile output).',
    requiresGpu: false,
    params: {
      output: { type: 'string', description: 'where to write the profile' },
      cprofile: { type: 'boolean', description: 'also run the Python profiler' },
    },
  },
  {
    name: 'diagnostics',
    description: 'Collect diagnostics for the stage: peak memory, host, environment summary.',
    requiresGpu: false,
    params: {
      level: { type: 'string', description: 'basic | full' },
    },
  },
  {
    name: 'memory.limit',
    description: 'Enforce the pool memory as a hard limit on each task (kill the task above it).',
    requiresGpu: false,
  },
]

export const BUILTIN_OPS: readonly BuiltinOpInfo[] = [
  {
    name: 'shell',
    description: 'Run a shell command. params.command: a string (run with sh -c) or an argv list.',
    params: { command: 'string | string[]', env: 'map of environment variables', cwd: 'working directory' },
  },
  {
    name: 'python',
    description:
      'Call a Python function. params.function: "module:function"; params.args / params.kwargs passed to it.',
    params: { function: 'module:function', args: 'list', kwargs: 'map' },
  },
  { name: 'noop', description: 'Do nothing (useful to join branches or as a placeholder).' },
  {
    name: 'hep.generate',
    description: 'Write synthetic Z->mumu events as Parquet files into the run directory (for demos and tests).',
    params: {
      output: 'path relative to the run directory ({i}: file number)',
      files: 'number of files',
      events: 'events per file',
      seed: 'random seed',
    },
  },
  {
    name: 'hep.define',
    description: 'Define new event variables from expressions over existing branches.',
    params: { variables: 'map of name -> expression', dataset: 'dataset name' },
  },
  {
    name: 'hep.select',
    description: 'Select events (or objects) passing a cut expression; records a cut-flow.',
    params: { selection: 'expression or list of expressions', dataset: 'dataset name' },
  },
  {
    name: 'hep.hist',
    description: 'Fill histograms of expressions, with binning and optional weights.',
    params: { expression: 'expression', bins: 'number or edges', range: '[low, high]', weight: 'expression' },
  },
]

export const BUILTIN_OP_NAMES: ReadonlySet<string> = new Set(BUILTIN_OPS.map((o) => o.name))
export const MODIFIERS_BY_NAME: ReadonlyMap<string, ModifierInfo> = new Map(KNOWN_MODIFIERS.map((m) => [m.name, m]))

/** Modifiers Control Room once listed and no longer has, with what to do instead. */
export const REMOVED_MODIFIERS: ReadonlyMap<string, string> = new Map([
  [
    'cache',
    "Control Room does not cache stage outputs between runs: remove it; to reuse a run's upstream results, use 'Rerun from here' on the run page",
  ],
])

/**
 * Keys of `execution.config` that only make sense for the Dask backend: warned about under
 * `backend: local`.
 */
export const DASK_ONLY_CONFIG_KEYS = [
  'scheduler_address',
  'scheduler_options',
  'dashboard_address',
  'worker_options',
  'nthreads',
  'threads_per_worker',
  'memory_limit',
  'processes',
  'death_timeout',
  'adaptive',
  'interface',
] as const
