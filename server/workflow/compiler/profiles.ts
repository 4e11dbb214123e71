/**
 * Pass 1b, profiles: `use.profiles` resolved in fasthep-flow's order, before the execution pass.
 *
 *   - names are expanded depth-first: a profile with `includes` stands for its includes, in order
 *     (a cycle is an error); a profile without includes is one layer
 *   - layers merge as fasthep-flow merges them: built-in defaults < each profile, in the expanded
 *     order < the workflow's own `execution` (< a CLI / run-dialog override, applied later).
 *     backend / strategy / profiles: the last layer that sets them wins; `resources`, `pools`,
 *     `environment` and `config` merge by key (a pool named in a later layer replaces the whole pool)
 *   - the plan records where each execution value came from (`plan.provenance`)
 *
 * Known profiles: the ones fasthep-flow ships (`registry`, `basic`, `dask_local`, `hep`,
 * `hep_debug`), with the same contents. A package's profile (`pkg:name`) is a Python package's file
 * Control Room cannot read: `pkg:registry` names capabilities, which Control Room's own op catalog
 * provides; any other one is a warning (its settings are not applied). A project-local profile
 * (a path, or a name fasthep-flow would look up under .hepflow/profiles) is an error: workflows
 * here are stored without their project directory.
 *
 * `execution.profiles` is metadata in fasthep-flow (it selects nothing): kept, with a warning that
 * says so, since a user who writes it expects profiles to apply.
 */
import type { SourceContext } from '../source.ts'
import type { PlanProvenance } from '../types.ts'
import { didYouMean } from '../suggest.ts'
import { isObj, nonEmptyString, quoteList, type Obj } from './state.ts'

interface BuiltinProfile {
  includes?: string[]
  /** the profile's `execution` section */
  execution?: Obj
  /** it holds a `registry` section (capabilities: served by Control Room's op catalog) */
  registry?: boolean
}

/** fasthep-flow's packaged profiles, with their contents */
export const BUILTIN_PROFILES: Readonly<Record<string, BuiltinProfile>> = {
  registry: { registry: true },
  basic: { includes: ['registry'] },
  dask_local: {
    execution: {
      backend: 'dask',
      strategy: 'local',
      config: {
        workers: 4,
        threads_per_worker: 1,
        processes: true,
        memory_limit: '4GB',
        dashboard_address: ':8787',
      },
    },
  },
  hep: {
    includes: [
      'basic',
      'fasthep_carpenter:registry',
      'fasthep_curator:registry',
      'fasthep_curator:default_context',
      'fasthep_render:registry',
    ],
  },
  hep_debug: { includes: ['hep', 'fasthep_curator:runtime_diagnostics'] },
}

/** sections merged by key; everything else in `execution` is replaced by the later layer */
const MERGED_SECTIONS = new Set(['resources', 'pools', 'environment', 'config'])

const looksLikePath = (n: string) =>
  n.includes('/') || n.includes('\\') || n === '.' || n === '..' || n.startsWith('.') || /\.ya?ml$/.test(n)

interface Layer {
  name: string
  kind: PlanProvenance['layers'][number]['kind']
  execution: Obj | null
}

/**
 * Resolves `use.profiles` and returns the execution the later passes read (the merged layers), and
 * the provenance for the plan (null when the workflow selects no profile).
 */
export function resolveProfiles(
  ctx: SourceContext,
  js: Obj,
): { execution: unknown; provenance: PlanProvenance | null } {
  const ex = js.execution
  // (an empty list, fasthep-flow's normalised default, has nothing to warn about)
  if (isObj(ex) && ex.profiles !== undefined && !(Array.isArray(ex.profiles) && ex.profiles.length === 0))
    ctx.warn(
      'execution-profiles-metadata',
      'execution.profiles is kept as metadata (as in fasthep-flow): it selects no profile and changes nothing',
      ['execution', 'profiles'],
      { at: 'key', hint: 'to apply profiles, list them under use.profiles (e.g. use: { profiles: [dask_local] })' },
    )
  const use = js.use
  if (use === undefined || use === null) return { execution: ex, provenance: null }
  if (!isObj(use)) {
    ctx.error('invalid-use', "'use' must be a mapping such as { profiles: [hep] }", ['use'], { at: 'key' })
    return { execution: ex, provenance: null }
  }
  const raw = use.profiles
  if (raw === undefined || raw === null) return { execution: ex, provenance: null }
  if (!Array.isArray(raw)) {
    ctx.error('invalid-profiles', 'use.profiles must be a list of profile names', ['use', 'profiles'], {
      hint: 'e.g. profiles: [registry, dask_local]',
    })
    return { execution: ex, provenance: null }
  }

  const layers: Layer[] = []
  const expand = (name: string, at: (string | number)[], stack: string[]) => {
    if (stack.includes(name)) {
      ctx.error('profile-cycle', `profile include cycle: ${[...stack, name].join(' -> ')}`, at)
      return
    }
    if (name.includes(':')) {
      const [pkg, prof] = name.split(':', 2) as [string, string]
      if (!pkg || !prof) {
        ctx.error('invalid-profile', `'${name}' is not package:profile`, at, {
          hint: 'e.g. fasthep_carpenter:registry',
        })
        return
      }
      if (prof !== 'registry')
        ctx.warn(
          'profile-not-applied',
          `profile '${name}'${stack.length ? ` (included by '${stack[stack.length - 1]}')` : ''} is a file of the Python package '${pkg}', which Control Room cannot read: its settings are not applied`,
          at,
          { hint: 'write the settings it holds into the workflow (execution: ...), or drop the profile' },
        )
      layers.push({ name, kind: prof === 'registry' ? 'package-registry' : 'package', execution: null })
      return
    }
    if (looksLikePath(name)) {
      ctx.error(
        'profile-not-found',
        `profile '${name}' is a file of the project: Control Room stores workflows without their project directory`,
        at,
        {
          hint: `write its execution settings into the workflow, or use a built-in profile (${quoteList(Object.keys(BUILTIN_PROFILES))})`,
        },
      )
      return
    }
    const p = BUILTIN_PROFILES[name]
    if (!p) {
      ctx.error('profile-not-found', `unknown profile '${name}'`, at, {
        hint: `${didYouMean(name, Object.keys(BUILTIN_PROFILES)) ?? `the known profiles are ${quoteList(Object.keys(BUILTIN_PROFILES))}`}; a project's own profiles (.hepflow/profiles) are not available here`,
      })
      return
    }
    if (p.includes?.length) {
      for (const inc of p.includes) expand(inc, at, [...stack, name])
      return
    }
    layers.push({ name, kind: p.registry ? 'builtin-registry' : 'builtin', execution: p.execution ?? null })
  }
  raw.forEach((n, i) => {
    if (!nonEmptyString(n)) {
      ctx.error('invalid-profile', `use.profiles[${i}] must be a non-empty profile name`, ['use', 'profiles', i])
      return
    }
    expand(n.trim(), ['use', 'profiles', i], [])
  })

  const values: Record<string, string> = {}
  const merged: Obj = {}
  const apply = (execution: Obj, label: string) => {
    for (const [k, v] of Object.entries(execution)) {
      if (MERGED_SECTIONS.has(k) && isObj(v)) {
        const into = isObj(merged[k]) ? { ...(merged[k] as Obj) } : {}
        for (const [kk, vv] of Object.entries(v)) {
          into[kk] = vv
          values[`execution.${k}.${kk}`] = label
        }
        merged[k] = into
      } else {
        merged[k] = v
        values[`execution.${k}`] = label
      }
    }
  }
  for (const l of layers) if (l.execution) apply(l.execution, `profile:${l.name}`)
  const fromProfiles = Object.keys(merged).length > 0
  if (isObj(ex)) apply(ex, 'workflow')
  else if (ex !== undefined && ex !== null) return { execution: ex, provenance: null } // the execution pass reports it
  return {
    // with no profile execution, the workflow's own object (its positions) is read as is
    execution: fromProfiles ? merged : ex,
    provenance: {
      layers: [
        { name: 'builtin', kind: 'builtin-defaults' },
        ...layers.map((l) => ({ name: l.name, kind: l.kind })),
        { name: 'workflow', kind: 'workflow' },
      ],
      values,
    },
  }
}
