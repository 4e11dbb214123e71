/**
 * Pass 2, normalise (execution): backend, strategy, `execution.config`, resource classes and pools,
 * checked against the schema and reduced to the plan's pools with resources in bytes and seconds.
 */
import { BACKENDS, DASK_ONLY_CONFIG_KEYS } from '../catalog.ts'
import { ExecutionSchema } from '../schema.ts'
import type { Path, SourceContext } from '../source.ts'
import { didYouMean } from '../suggest.ts'
import type { Backend, OpSpec, PlanPool, PoolResources, Strategy } from '../types.ts'
import { tryParseDuration, tryParseMemory } from '../units.ts'
import { validateWith } from '../zodmap.ts'
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
): { st: CompileState; ex: Obj } {
  const execution = js.execution
  if (execution !== undefined) {
    if (execution === null) {
      // `execution:` with nothing: accepted as empty
    } else {
      validateWith(ctx, ExecutionSchema, execution, ['execution'], {
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
  const backend: Backend = (BACKENDS as readonly string[]).includes(ex.backend as string)
    ? (ex.backend as Backend)
    : 'local'
  const strategy: Strategy = ex.strategy === 'slurm' || ex.strategy === 'htcondor' ? ex.strategy : 'local'
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
}

/** Parse a walltime; under htcondor, report that there is no walltime. Returns seconds or null. */
export function checkWalltime(st: CompileState, value: unknown, path: Path): number | null {
  const { ctx } = st
  if (st.strategy === 'htcondor') {
    ctx.error('htcondor-walltime', "HTCondor has no 'walltime'", path, {
      at: 'key',
      hint: "use 'maxruntime: 2h' (sets +MaxRuntime in seconds) or 'queue: workday' (the JobFlavour) instead",
    })
  }
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
  if (typeof spec.cpus === 'number' && spec.cpus > 0 && Number.isFinite(spec.cpus)) res.cpus = spec.cpus
  if (typeof spec.gpus === 'number' && Number.isInteger(spec.gpus) && spec.gpus >= 0) res.gpus = spec.gpus
  else if (typeof spec.gpus === 'string' && /^\s*\d+\s*$/.test(spec.gpus)) res.gpus = Number(spec.gpus.trim())
  if (typeof spec.memory === 'string' || typeof spec.memory === 'number') {
    const r = tryParseMemory(spec.memory)
    if (r.ok) res.memoryBytes = r.value
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

export function configWorkers(config: Obj): number | null {
  for (const k of ['workers', 'n_workers']) {
    const v = config[k]
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v
  }
  return null
}

export function buildPools(st: CompileState, ex: Obj) {
  const { ctx } = st
  const pools = asObj(ex.pools)
  const cfgWorkers = configWorkers(st.config)
  for (const name of Object.keys(pools)) {
    const raw = pools[name]
    const p = asObj(raw)
    const path: Path = ['execution', 'pools', name]
    let workers = 1
    if (typeof p.workers === 'number' && Number.isInteger(p.workers) && p.workers > 0) workers = p.workers
    else if (p.workers === undefined && name === 'default' && cfgWorkers) workers = cfgWorkers
    if (typeof p.workers === 'number' && p.workers <= 0) {
      // the schema reports it as invalid-workers; add the consequence
    }
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
    const config: Obj = isObj(p.config) ? { ...p.config } : {}
    if (typeof p.use === 'string') config.use = p.use
    if (config.walltime !== undefined) {
      const secs = checkWalltime(st, config.walltime, [...path, 'config', 'walltime'])
      if (secs !== null) config.walltimeSeconds = secs
    }
    if (
      config.maxruntime !== undefined &&
      (typeof config.maxruntime === 'string' || typeof config.maxruntime === 'number')
    ) {
      const r = tryParseDuration(config.maxruntime, { bareUnit: 'seconds' })
      if (r.ok) config.maxruntimeSeconds = r.value
      else
        ctx.error('invalid-duration', `cannot read maxruntime: ${r.error}`, [...path, 'config', 'maxruntime'], {
          hint: DURATION_HINT + ' (a plain number is seconds)',
        })
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
    config: {},
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
