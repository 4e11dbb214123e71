/**
 * Pass 2, normalise (execution): backend, strategy, `execution.config`, resource classes and pools,
 * checked against the schema and reduced to the plan's pools with resources in bytes and seconds.
 */
import { BACKENDS, DASK_ONLY_CONFIG_KEYS } from '../catalog.ts'
import { ExecutionSchema } from '../schema.ts'
import type { Path, SourceContext } from '../source.ts'
import { didYouMean } from '../suggest.ts'
import type { BackendName, CompileOptions, OpSpec, PlanPool, PoolResources, StrategyName } from '../types.ts'
import { tryParseDuration, tryParseMemory } from '../units.ts'
import { validateWith } from '../zodmap.ts'
import { checkConfigKeys, POOL_KEYS } from './config-keys.ts'
import { checkDaskConfig, daskWorkerSettings } from './dask-config.ts'
import { asObj, COMMON_MAP, DEFAULT_RESOURCES, DURATION_HINT, isObj, MEMORY_HINT } from './state.ts'
import type { CompileState, Obj } from './state.ts'

const DASK_ONLY = new Set<string>(DASK_ONLY_CONFIG_KEYS)
const SECRET_KEYS = new Set([
  'token',
  'secret',
  'password',
  'passwd',
  'value',
  'key',
  'proxy',
  'content',
  'contents',
  'pem',
  'cert',
  'certificate',
])

/** Validate `execution` and build the compile state: backend, strategy, classes and pools. */
export function normaliseExecution(
  ctx: SourceContext,
  js: Obj,
  ops: Record<string, OpSpec>,
  customModifiers: Map<string, { requiresGpu: boolean }>,
  forRun: boolean,
  overrides: CompileOptions['overrides'] = undefined,
): { st: CompileState; ex: Obj } {
  const execution = js.execution
  if (execution !== undefined) {
    if (execution === null) {
      // `execution:` with nothing: accepted as empty
    } else {
      // `environment: {}` is fasthep-flow's normalised "nothing chosen": the default, shared-fs
      const checked =
        isObj(execution) && isObj(execution.environment) && Object.keys(execution.environment).length === 0
          ? { ...execution, environment: undefined }
          : execution
      validateWith(ctx, ExecutionSchema, checked, ['execution'], {
        ...COMMON_MAP,
        unknownKey: (key, path) =>
          path[1] === 'credentials' && SECRET_KEYS.has(key.toLowerCase())
            ? {
                code: 'credential-secret',
                message: `'${key}' looks like a secret value; credentials hold references only`,
                hint: 'point to the credential instead: env: BEARER_TOKEN_FILE, or path: /tmp/x509up_u1000',
              }
            : undefined,
        missingHint: (path) =>
          path[path.length - 1] === 'archive_path'
            ? 'e.g. archive_path: dist/environment.sh (the packed environment shipped to workers)'
            : undefined,
      })
    }
  }
  const ex = asObj(execution)
  // an override (CLI, run dialog) counts as if written in the file: every check below sees it
  const chosenBackend = overrides?.backend ?? ex.backend
  const chosenStrategy = overrides?.strategy ?? ex.strategy
  const backend: BackendName = (BACKENDS as readonly string[]).includes(chosenBackend as string)
    ? (chosenBackend as BackendName)
    : 'local'
  const strategy: StrategyName =
    chosenStrategy === 'slurm' || chosenStrategy === 'htcondor' ? (chosenStrategy as StrategyName) : 'local'
  const config = asObj(ex.config)

  const st: CompileState = {
    ctx,
    forRun,
    backend,
    strategy,
    config,
    classes: new Map(),
    pools: [],
    poolByName: new Map(),
    poolsByClass: new Map(),
    ops,
    customModifiers,
  }

  checkExecutionConfig(st)
  buildClasses(st, ex)
  buildPools(st, ex)
  return { st, ex }
}

export function checkExecutionConfig(st: CompileState) {
  const { ctx, config } = st
  if (st.backend === 'local') {
    for (const key of Object.keys(config)) {
      if (DASK_ONLY.has(key)) {
        ctx.warn(
          'dask-only-option',
          `'${key}' only applies to the dask backend; it is ignored with backend: local`,
          ['execution', 'config', key],
          {
            at: 'key',
            hint: 'set execution.backend: dask, or remove this option',
          },
        )
      }
    }
  }
  if (config.walltime !== undefined) {
    checkWalltime(st, config.walltime, ['execution', 'config', 'walltime'])
  }
  if (config.maxruntime !== undefined) checkMaxruntime(st, config.maxruntime, ['execution', 'config', 'maxruntime'])
  if (config.log_directory !== undefined) refuseLogDirectory(st, ['execution', 'config', 'log_directory'])
  checkDaskConfig(st, config, ['execution', 'config'])
  checkConfigKeys(st, config, ['execution', 'config'], 'execution')
}

/** The pool-wide keys of `execution.config`, normalised once (problems at execution.config). */
function poolWideConfig(st: CompileState): Obj {
  const out: Obj = {}
  for (const key of POOL_KEYS) if (st.config[key] !== undefined) out[key] = st.config[key]
  normaliseJobqueueKeys(st, out, ['execution', 'config'])
  Object.assign(out, daskWorkerSettings(st, st.config))
  const maxruntime = out.maxruntime !== undefined ? tryParseDuration(out.maxruntime, { bareUnit: 'seconds' }) : null
  if (maxruntime?.ok) out.maxruntimeSeconds = maxruntime.value // else reported by checkExecutionConfig
  if (out.walltime !== undefined) {
    const r =
      typeof out.walltime === 'string' || typeof out.walltime === 'number'
        ? tryParseDuration(out.walltime, { bareUnit: 'minutes' })
        : null
    if (r?.ok) out.walltimeSeconds = r.value // else reported by checkExecutionConfig
  }
  return out
}

function refuseLogDirectory(st: CompileState, path: Path) {
  st.ctx.error(
    'unsupported-option',
    "'log_directory' is not supported: Control Room keeps every job's output in the run directory",
    path,
    {
      at: 'key',
      hint: 'remove it; the run page, `controlroom runs` and <run>/tasks/<task>/ show each job log',
    },
  )
}

/** Control characters in names end up in job scripts, submit descriptions and terminals. */
export function hasControlCharacters(s: string): boolean {
  return /[\u0000-\u001f\u007f-\u009f]/.test(s)
}

function checkName(st: CompileState, name: string, what: string, path: Path): void {
  if (name.trim() === '') {
    st.ctx.error('invalid-name', `${what} name is empty`, path, {
      at: 'key',
      hint: 'give it a name of letters, digits, _ and -, e.g. cpu or high_memory',
    })
  } else if (hasControlCharacters(name)) {
    st.ctx.error('invalid-name', `${what} name ${JSON.stringify(name)} contains control characters`, path, {
      at: 'key',
      hint: 'use letters, digits, _ and -',
    })
  }
}

/** fasthep-flow's dask-jobqueue keys in a pool's config, in Control Room's vocabulary. */
function normaliseJobqueueKeys(st: CompileState, config: Obj, path: Path): void {
  const { ctx } = st
  if (st.strategy === 'slurm' && typeof config.queue === 'string') {
    // dask-jobqueue's SLURMCluster(queue=...) is the partition
    if (typeof config.partition === 'string' && config.partition !== config.queue) {
      ctx.error(
        'conflicting-options',
        `'queue' ('${config.queue}') and 'partition' ('${config.partition}') both name the Slurm partition`,
        [...path, 'queue'],
        { at: 'key', hint: 'keep one of them' },
      )
    } else config.partition = config.queue
    delete config.queue
  }
  if (st.strategy === 'htcondor' && typeof config.account === 'string') {
    // the schema's meaning of `account` under HTCondor: the accounting group
    if (config.accounting_group === undefined) config.accounting_group = config.account
    delete config.account
  }
  if (config.job_extra_directives !== undefined) {
    const extra = config.job_extra_directives
    const own = config.extra
    if (Array.isArray(extra) && (own === undefined || Array.isArray(own)))
      config.extra = [...((own as unknown[]) ?? []), ...extra]
    else if (isObj(extra) && (own === undefined || isObj(own))) config.extra = { ...((own as Obj) ?? {}), ...extra }
    else if (own !== undefined)
      ctx.error(
        'conflicting-options',
        "'job_extra_directives' and 'extra' must both be lists or both be maps",
        [...path, 'job_extra_directives'],
        { at: 'key', hint: 'merge them into one list of directives' },
      )
    else config.extra = extra
    delete config.job_extra_directives
  }
  if (config.worker_extra_args !== undefined && st.backend !== 'dask') {
    ctx.error(
      'dask-only-option',
      "'worker_extra_args' are arguments of the Dask worker command: there is none with backend: local",
      [...path, 'worker_extra_args'],
      { at: 'key', hint: 'set execution.backend: dask, or remove this option' },
    )
  }
  if (config.log_directory !== undefined) refuseLogDirectory(st, [...path, 'log_directory'])
}

/** HTCondor `maxruntime` (+MaxRuntime): seconds, or null after reporting what is wrong. */
function checkMaxruntime(st: CompileState, value: unknown, path: Path): number | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null // the schema reports its type
  const r = tryParseDuration(value, { bareUnit: 'seconds' })
  if (r.ok) return r.value
  st.ctx.error('invalid-duration', `cannot read maxruntime: ${r.error}`, path, {
    hint: DURATION_HINT + ' (a plain number is seconds)',
  })
  return null
}

/** Parse a walltime (under htcondor: the job's +MaxRuntime, as in dask-jobqueue). Returns seconds or null. */
export function checkWalltime(st: CompileState, value: unknown, path: Path): number | null {
  const { ctx } = st
  if (typeof value !== 'string' && typeof value !== 'number') return null
  const r = tryParseDuration(value, { bareUnit: 'minutes' })
  if (!r.ok) {
    ctx.error('invalid-duration', `cannot read walltime: ${r.error}`, path, {
      hint: DURATION_HINT + ' (a plain number is minutes, as in Slurm)',
    })
    return null
  }
  return r.value
}

export function parseResources(st: CompileState, spec: Obj, path: Path): PoolResources {
  const { ctx } = st
  const res: PoolResources = { ...DEFAULT_RESOURCES }
  if (typeof spec.cpus === 'number' && spec.cpus > 0 && Number.isFinite(spec.cpus)) {
    if (Number.isInteger(spec.cpus)) res.cpus = spec.cpus
    else {
      // batch systems and our local slots count whole cores: 0.5 would silently become 1
      res.cpus = Math.ceil(spec.cpus)
      ctx.error('invalid-cpus', `cpus must be a whole number of cores, got ${spec.cpus}`, [...path, 'cpus'], {
        hint: `write cpus: ${Math.ceil(spec.cpus)} (Slurm, HTCondor and Control Room's slots count whole cores)`,
      })
    }
  }
  if (typeof spec.gpus === 'number' && Number.isInteger(spec.gpus) && spec.gpus >= 0) res.gpus = spec.gpus
  else if (typeof spec.gpus === 'string' && /^\s*\d+\s*$/.test(spec.gpus)) res.gpus = Number(spec.gpus.trim())
  if (typeof spec.memory === 'string' || typeof spec.memory === 'number') {
    const r = tryParseMemory(spec.memory)
    if (r.ok && r.value <= 0)
      ctx.error('invalid-memory', 'memory must be more than 0', [...path, 'memory'], {
        hint: `${MEMORY_HINT}; leave memory out to take the batch system's default`,
      })
    else if (r.ok) res.memoryBytes = r.value
    else ctx.error('invalid-memory', `cannot read memory: ${r.error}`, [...path, 'memory'], { hint: MEMORY_HINT })
  }
  if (typeof spec.disk === 'string' || typeof spec.disk === 'number') {
    const r = tryParseMemory(spec.disk)
    if (r.ok) res.diskBytes = r.value
    else ctx.error('invalid-disk', `cannot read disk size: ${r.error}`, [...path, 'disk'], { hint: MEMORY_HINT })
  }
  return res
}

export function buildClasses(st: CompileState, ex: Obj) {
  const classes = asObj(ex.resources)
  for (const name of Object.keys(classes)) {
    const spec = classes[name]
    checkName(st, name, 'resource class', ['execution', 'resources', name])
    st.classes.set(name, parseResources(st, asObj(spec), ['execution', 'resources', name]))
  }
}

export function addPool(st: CompileState, pool: PlanPool) {
  st.pools.push(pool)
  st.poolByName.set(pool.name, pool)
  if (pool.resourceClass) {
    let list = st.poolsByClass.get(pool.resourceClass)
    if (!list) st.poolsByClass.set(pool.resourceClass, (list = []))
    list.push(pool)
  }
}

/** A count given as a number or, as fasthep-flow allows, a string of digits (`workers: "2"`). */
export function readCount(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v
  if (typeof v === 'string' && /^\s*[1-9]\d*\s*$/.test(v)) return Number(v.trim())
  return null
}

/** `execution.config.n_workers` (or `workers`): the default pool's workers (fasthep-flow). */
export function configWorkers(config: Obj): number | null {
  return readCount(config.n_workers) ?? readCount(config.workers)
}

export function buildPools(st: CompileState, ex: Obj) {
  const { ctx } = st
  const pools = asObj(ex.pools)
  const cfgWorkers = configWorkers(st.config)
  for (const name of Object.keys(pools)) {
    const raw = pools[name]
    const p = asObj(raw)
    const path: Path = ['execution', 'pools', name]
    checkName(st, name, 'pool', path)
    // fasthep-flow: config.n_workers sets the default pool's workers, over the pool's own
    const workers = (name === 'default' ? cfgWorkers : null) ?? readCount(p.workers) ?? 1
    let resources: PoolResources = { ...DEFAULT_RESOURCES }
    let resourceClass: string | null = null
    if (typeof p.resources === 'string') {
      const cls = p.resources.trim()
      const found = st.classes.get(cls)
      if (found) {
        resources = { ...found }
        resourceClass = cls
      } else if (cls === 'default' && st.classes.size === 0) {
        resourceClass = 'default'
      } else {
        const dym = didYouMean(cls, st.classes.keys())
        ctx.error(
          'unknown-resource-class',
          `pool '${name}' uses resource class '${cls}', which is not declared under execution.resources`,
          [...path, 'resources'],
          {
            hint:
              (dym ? dym + ' ' : '') +
              (st.classes.size
                ? `declared classes: ${[...st.classes.keys()].join(', ')}`
                : `declare it:  execution: { resources: { ${cls}: { cpus: 1, memory: 4GB } } }`),
          },
        )
        resourceClass = cls
      }
    } else if (isObj(p.resources)) {
      resources = parseResources(st, p.resources, [...path, 'resources'])
    }
    const own: Obj = isObj(p.config) ? { ...p.config } : {}
    normaliseJobqueueKeys(st, own, [...path, 'config'])
    checkConfigKeys(st, isObj(p.config) ? p.config : {}, [...path, 'config'], 'pool')
    checkDaskConfig(st, own, [...path, 'config'])
    Object.assign(own, daskWorkerSettings(st, own))
    if (own.walltime !== undefined) {
      const secs = checkWalltime(st, own.walltime, [...path, 'config', 'walltime'])
      if (secs !== null) own.walltimeSeconds = secs
      else delete own.walltimeSeconds
    }
    // the pool's own config wins over execution.config's, key by key (fasthep-flow)
    const config: Obj = { ...poolWideConfig(st), ...own }
    if (typeof p.use === 'string') {
      config.use = p.use
      // nothing resolves it: say so rather than accept it and do nothing
      ctx.warn(
        'pool-use-metadata',
        `'use: ${p.use}' is kept as metadata: Control Room applies a site's pool settings by the pool's name`,
        [...path, 'use'],
        {
          at: 'key',
          hint: `name the pool '${p.use}' to get the site's settings for it (site slurm.pools.${p.use}), or remove 'use'`,
        },
      )
    }
    if (own.maxruntime !== undefined) {
      const secs = checkMaxruntime(st, own.maxruntime, [...path, 'config', 'maxruntime'])
      if (secs !== null) config.maxruntimeSeconds = secs
      else delete config.maxruntimeSeconds
    }
    if (st.backend === 'local') {
      for (const key of Object.keys(isObj(p.config) ? p.config : {})) {
        if (DASK_ONLY.has(key)) {
          ctx.warn(
            'dask-only-option',
            `'${key}' only applies to the dask backend; it is ignored with backend: local`,
            [...path, 'config', key],
            {
              at: 'key',
              hint: 'set execution.backend: dask, or remove this option',
            },
          )
        }
      }
    }
    addPool(st, { config, implicit: false, name, resourceClass, resources, stages: [], workers })
  }
  // fasthep-flow: config.workers with no pools creates the default pool
  if (Object.keys(pools).length === 0 && cfgWorkers) ensureDefaultPool(st)
}

export function ensureDefaultPool(st: CompileState): PlanPool {
  const existing = st.poolByName.get('default')
  if (existing) return existing
  const cls = st.classes.get('default')
  const pool: PlanPool = {
    config: poolWideConfig(st),
    implicit: true,
    name: 'default',
    resourceClass: cls ? 'default' : null,
    resources: cls ? { ...cls } : { ...DEFAULT_RESOURCES },
    stages: [],
    workers: configWorkers(st.config) ?? 1,
  }
  // the implicit default pool comes first
  st.pools.unshift(pool)
  st.poolByName.set('default', pool)
  if (cls) st.poolsByClass.set('default', [pool, ...(st.poolsByClass.get('default') ?? [])])
  return pool
}

/** The implicit pool of a resource class when the workflow declares no pools (fasthep-flow). */
export function ensureClassPool(st: CompileState, cls: string, resources: PoolResources): PlanPool {
  const existing = st.poolsByClass.get(cls)?.[0]
  if (existing) return existing
  const pool: PlanPool = {
    config: poolWideConfig(st),
    implicit: true,
    name: cls,
    resourceClass: cls,
    resources: { ...resources },
    stages: [],
    workers: 1,
  }
  addPool(st, pool)
  return pool
}

/** After routing: `config.n_workers` named the default pool, and there is none. */
export function checkConfigWorkers(st: CompileState): void {
  if (configWorkers(st.config) === null || st.poolByName.has('default')) return
  const key = readCount(st.config.n_workers) !== null ? 'n_workers' : 'workers'
  st.ctx.warn(
    'workers-without-default-pool',
    `'${key}' sets the workers of the pool named 'default', and no pool has that name`,
    ['execution', 'config', key],
    { at: 'key', hint: "set 'workers:' on each pool instead, or name one of the pools 'default'" },
  )
}
