/**
 * Pass 2, normalise: the sections other than stages and pools (registry ops and modifiers, data
 * sets, environment, credentials) checked against their schemas and reduced to the plan's shapes.
 */
import { BUILTIN_OP_NAMES, ENVIRONMENT_TYPES } from '../catalog.ts'
import { DataSchema, DatasetCollectionSchema, RegistrySchema } from '../schema.ts'
import type { Path, SourceContext } from '../source.ts'
import type { CredentialRef, DatasetSpec, OpSpec, PlanEnvironment } from '../types.ts'
import { tryParseDuration } from '../units.ts'
import { validateWith } from '../zodmap.ts'
import { asObj, COMMON_MAP, DURATION_HINT, isObj, setOwn } from './state.ts'
import type { Obj } from './state.ts'

export interface NormalisedRegistry {
  registry: Obj
  ops: Record<string, OpSpec>
  customModifiers: Map<string, { requiresGpu: boolean }>
}

/** `registry.ops` and `registry.modifiers` (and fasthep-flow's top-level `execution_modifiers`). */
export function normaliseRegistry(ctx: SourceContext, js: Obj): NormalisedRegistry {
  const registry = asObj(js.registry)
  if (js.registry !== undefined) validateWith(ctx, RegistrySchema, js.registry, ['registry'], COMMON_MAP)
  if (js.data !== undefined) validateWith(ctx, DataSchema, js.data, ['data'], COMMON_MAP)
  if (js.datasets !== undefined) validateWith(ctx, DatasetCollectionSchema, js.datasets, ['datasets'], COMMON_MAP)
  if (js.name !== undefined && typeof js.name !== 'string') {
    ctx.error('invalid-type', `'name' must be a string`, ['name'], { hint: `quote it: "${String(js.name)}"` })
  }

  const ops: Record<string, OpSpec> = {}
  const regOps = asObj(registry.ops)
  for (const name of Object.keys(regOps)) {
    const spec = regOps[name]
    const p: Path = ['registry', 'ops', name]
    if (!isObj(spec)) continue // reported by the schema
    const hasCommand = spec.command !== undefined && spec.command !== null
    const hasPython = spec.python !== undefined && spec.python !== null
    if (!hasCommand && !hasPython) {
      ctx.error('invalid-op-spec', `op '${name}' declares neither 'command' nor 'python'`, p, {
        at: 'key',
        hint: `add  command: ["sh", "-c", "..."]  or  python: "module:function"`,
      })
    } else if (hasCommand && hasPython) {
      ctx.warn(
        'invalid-op-spec',
        `op '${name}' declares both 'command' and 'python'; 'command' is used`,
        [...p, 'python'],
        { at: 'key' },
      )
    }
    if (typeof spec.python === 'string' && !/^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$/.test(spec.python.trim())) {
      ctx.error('invalid-op-spec', `'python' must be "module:function", got "${spec.python}"`, [...p, 'python'], {
        hint: 'e.g. python: "my_analysis.steps:build_index"',
      })
    }
    if (Array.isArray(spec.command) && spec.command.length === 0) {
      ctx.error('invalid-op-spec', `'command' of op '${name}' is an empty list`, [...p, 'command'], {
        hint: 'e.g. command: ["sh", "-c", "echo hi"]',
      })
    }
    if (BUILTIN_OP_NAMES.has(name)) {
      ctx.warn('op-shadows-builtin', `op '${name}' overrides the built-in op of the same name`, p, { at: 'key' })
    }
    setOwn(ops, name, { ...spec } as OpSpec)
  }

  const customModifiers = new Map<string, { requiresGpu: boolean }>()
  for (const [name, spec] of Object.entries(asObj(registry.modifiers))) {
    customModifiers.set(name, { requiresGpu: isObj(spec) && spec.requires_gpu === true })
  }
  // fasthep-flow registers modifiers under a top-level `execution_modifiers:` map
  for (const [name, spec] of Object.entries(asObj(js.execution_modifiers))) {
    if (!customModifiers.has(name))
      customModifiers.set(name, { requiresGpu: isObj(spec) && spec.requires_gpu === true })
  }
  return { registry, ops, customModifiers }
}

// ---- environment, credentials, datasets --------------------------------------------------------

export function normaliseEnvironment(raw: unknown): PlanEnvironment {
  if (typeof raw === 'string' && (ENVIRONMENT_TYPES as readonly string[]).includes(raw))
    return withEnvDefaults({ type: raw as PlanEnvironment['type'] })
  if (isObj(raw) && typeof raw.type === 'string' && (ENVIRONMENT_TYPES as readonly string[]).includes(raw.type)) {
    const allowed = EnvironmentKeys[raw.type as PlanEnvironment['type']]
    const env: PlanEnvironment = { type: raw.type as PlanEnvironment['type'] }
    for (const k of Object.keys(raw))
      if (allowed.includes(k) && raw[k] !== undefined && raw[k] !== null) env[k] = raw[k]
    return withEnvDefaults(env)
  }
  return { type: 'shared-fs' }
}

const EnvironmentKeys: Record<PlanEnvironment['type'], string[]> = {
  'shared-fs': ['python', 'setup', 'env'],
  'packed-pixi': ['archive_path', 'environment', 'worker_env_dir'],
  'conda-pack': ['archive_path', 'worker_env_dir'],
}

function withEnvDefaults(env: PlanEnvironment): PlanEnvironment {
  if (env.type === 'packed-pixi') {
    if (env.environment === undefined) env.environment = 'default'
    if (env.worker_env_dir === undefined) env.worker_env_dir = 'worker-env'
  } else if (env.type === 'conda-pack') {
    if (env.worker_env_dir === undefined) env.worker_env_dir = 'worker-env'
  }
  return env
}

function looksSecret(s: string): boolean {
  return /^eyJ[A-Za-z0-9_-]{10,}\./.test(s) || s.includes('-----BEGIN')
}

export function normaliseCredentials(ctx: SourceContext, raw: unknown): CredentialRef[] {
  const out: CredentialRef[] = []
  const one = (kind: 'x509' | 'scitoken', v: unknown, path: Path) => {
    if (v === false) return
    const ref: CredentialRef = { kind, source: 'discover', required: true }
    if (isObj(v)) {
      const env = typeof v.env === 'string' ? v.env.trim() : ''
      const p = typeof v.path === 'string' ? v.path.trim() : ''
      if (env && p) {
        ctx.error(
          'credential-conflict',
          `give either 'env' or 'path' for the ${kind} credential, not both`,
          [...path, 'path'],
          {
            at: 'key',
            hint: "'env' names a variable holding the file path; 'path' is the file itself",
          },
        )
      }
      for (const [field, val] of [
        ['env', env],
        ['path', p],
      ] as const) {
        if (val && looksSecret(val)) {
          ctx.error(
            'credential-secret',
            `the ${kind} '${field}' looks like a secret value; credentials hold references only`,
            [...path, field],
            {
              hint: 'point to the credential instead: env: BEARER_TOKEN_FILE, or path: /tmp/x509up_u1000',
            },
          )
          return
        }
      }
      if (env && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) {
        ctx.error('invalid-value', `'${env}' is not an environment variable name`, [...path, 'env'], {
          hint: kind === 'x509' ? 'e.g. env: X509_USER_PROXY' : 'e.g. env: BEARER_TOKEN_FILE',
        })
      }
      if (env) {
        ref.source = 'env'
        ref.env = env
      } else if (p) {
        ref.source = 'path'
        ref.path = p
      }
      if (typeof v.required === 'boolean') ref.required = v.required
      if (typeof v.min_valid === 'string' || typeof v.min_valid === 'number') {
        const r = tryParseDuration(v.min_valid, { bareUnit: 'seconds' })
        if (r.ok) ref.minValidSeconds = r.value
        else
          ctx.error('invalid-duration', `cannot read min_valid: ${r.error}`, [...path, 'min_valid'], {
            hint: DURATION_HINT + ' (a plain number is seconds)',
          })
      }
    }
    out.push(ref)
  }
  if (Array.isArray(raw)) {
    raw.forEach((item, j) => {
      if (isObj(item) && (item.kind === 'x509' || item.kind === 'scitoken'))
        one(item.kind, item, ['execution', 'credentials', j])
    })
  } else if (isObj(raw)) {
    if ('x509' in raw) one('x509', raw.x509, ['execution', 'credentials', 'x509'])
    if ('scitoken' in raw) one('scitoken', raw.scitoken, ['execution', 'credentials', 'scitoken'])
  }
  return out
}

/**
 * Datasets as fasthep-flow reads them: the top-level `datasets` include first, then
 * `data.datasets`; each a list of {name, files, ...} or a mapping keyed by name.
 */
export function normaliseDatasets(ctx: SourceContext, data: unknown, included?: unknown): DatasetSpec[] {
  const out: DatasetSpec[] = []
  const seen = new Map<string, number>()
  const entries: { d: Obj; name: string; path: Path; namePath: Path }[] = []
  const collect = (raw: unknown, base: Path) => {
    if (Array.isArray(raw)) {
      raw.forEach((d, j) => {
        if (isObj(d) && typeof d.name === 'string')
          entries.push({ d, name: d.name, path: [...base, j], namePath: [...base, j, 'name'] })
      })
    } else if (isObj(raw)) {
      for (const [key, d] of Object.entries(raw)) {
        if (!isObj(d)) continue // reported by the schema
        const name = typeof d.name === 'string' ? d.name : key
        entries.push({
          d,
          name,
          path: [...base, key],
          namePath: typeof d.name === 'string' ? [...base, key, 'name'] : [...base, key],
        })
      }
    }
  }
  collect(included, ['datasets'])
  if (isObj(data)) collect(data.datasets, ['data', 'datasets'])
  entries.forEach(({ d, name, namePath }, j) => {
    if (seen.has(name)) {
      ctx.error('duplicate-dataset', `dataset name '${name}' is used twice`, namePath, {
        at: 'key',
        hint: 'dataset names must be unique (the top-level datasets include and data.datasets share them)',
      })
      return
    }
    seen.set(name, j)
    const { tree_name, treeName, files, name: _name, ...rest } = d
    const spec: DatasetSpec = {
      ...rest,
      name,
      files:
        typeof files === 'string'
          ? [files]
          : Array.isArray(files)
            ? files.filter((f): f is string => typeof f === 'string')
            : [],
    }
    const tn = typeof treeName === 'string' ? treeName : typeof tree_name === 'string' ? tree_name : undefined
    if (tn !== undefined) spec.treeName = tn
    out.push(spec)
  })
  return out
}

/**
 * A packed environment is unpacked by the batch job scripts (Slurm, HTCondor); local workers run
 * with this host's software. Accepting it under strategy local would run the tasks without it.
 */
export function checkEnvironmentApplies(
  ctx: SourceContext,
  env: PlanEnvironment,
  raw: unknown,
  strategy: string,
  strategyOverridden = false,
): void {
  if (env.type === 'shared-fs' || strategy !== 'local') return
  ctx.error(
    'environment-not-applied',
    `a ${env.type} environment is unpacked by batch jobs; with strategy local${strategyOverridden ? ' (given as an override)' : ''} the tasks would run with this host's software instead`,
    isObj(raw) ? ['execution', 'environment', 'type'] : ['execution', 'environment'],
    {
      hint: strategyOverridden
        ? 'run it with --strategy slurm or htcondor (or without the override), or use type: shared-fs (the default) to run here with the installed software'
        : 'use strategy: slurm or htcondor for a packed environment, or type: shared-fs (the default) to run here with the installed software',
    },
  )
}
