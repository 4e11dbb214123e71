/**
 * Pass 4, route: each stage to the pool that provides its `require` / `prefer` / `fallback` label
 * (by pool name, then by resource class), its modifiers checked against that pool, its timeout.
 */
import { KNOWN_MODIFIERS, MODIFIERS_BY_NAME, REMOVED_MODIFIERS } from '../catalog.ts'
import type { Path, SourceContext } from '../source.ts'
import { closest, didYouMean } from '../suggest.ts'
import type { PlanModifier, PlanPool, PlanStage, PlanStageRouting } from '../types.ts'
import { tryParseDuration } from '../units.ts'
import { ensureClassPool, ensureDefaultPool } from './pools.ts'
import { asObj, DURATION_HINT, isObj, nonEmptyString } from './state.ts'
import type { CompileState, Obj, StageRec } from './state.ts'

export interface RoutedStage {
  rec: StageRec
  stage: PlanStage
}

/** Route every stage (in source order) and build its plan entry. */
export function routeStages(st: CompileState, recs: StageRec[]): RoutedStage[] {
  const { ctx } = st
  const routed: { rec: StageRec; stage: PlanStage }[] = []
  for (const rec of recs) {
    const { pool, routing } = routeStage(st, rec)
    const modifiers = normaliseModifiers(st, rec, pool)
    const timeoutSeconds = stageTimeout(ctx, rec)
    const retries =
      typeof rec.exec.retries === 'number' && Number.isInteger(rec.exec.retries) && rec.exec.retries >= 0
        ? rec.exec.retries
        : null
    // keys in sorted order (canonical JSON without copying)
    const stage: PlanStage = {
      id: rec.id,
      index: rec.index,
      inputs: rec.inputs,
      modifiers,
      needs: rec.deps.map((d) => recs[d.idx]!.id),
      op: rec.op,
      params: rec.params,
      pool: pool.name,
      resources: { ...pool.resources },
      retries,
      routing,
      timeoutSeconds,
    }
    if (typeof rec.raw.description === 'string')
      (stage as PlanStage & { description?: string }).description = rec.raw.description
    if (rec.raw.write !== undefined) (stage as PlanStage & { write?: unknown }).write = rec.raw.write
    if (rec.appliesTo) stage.appliesTo = rec.appliesTo
    routed.push({ rec, stage })
  }
  return routed
}

interface Provider {
  pool: PlanPool
  via: 'name' | 'class'
  others: PlanPool[]
}

function provider(st: CompileState, label: string): Provider | null {
  if (label === 'default' && !st.poolsByClass.get('default')?.length)
    return { pool: ensureDefaultPool(st), via: 'name', others: [] }
  const byName = st.poolByName.get(label)
  if (byName && !byName.implicit) return { pool: byName, via: 'name', others: [] }
  const byClass = st.poolsByClass.get(label)
  if (byClass?.length) return { pool: byClass[0]!, via: 'class', others: byClass.slice(1) }
  if (byName) return { pool: byName, via: 'name', others: [] }
  // fasthep-flow: with no pools declared (`pools: {}` or none), requiring a resource class is valid:
  // the stage gets an implicit pool of that class (1 worker)
  const cls = st.classes.get(label)
  if (cls && !st.pools.some((p) => !p.implicit))
    return { pool: ensureClassPool(st, label, cls), via: 'class', others: [] }
  return null
}

function describeProvider(p: Provider, label: string): string {
  if (p.via === 'name') return `pool '${p.pool.name}'`
  if (p.pool.implicit)
    return `an implicit pool '${p.pool.name}' of resource class '${label}' (no pools are declared; 1 worker)`
  return `pool '${p.pool.name}' (resource class '${label}')`
}

function labelCandidates(st: CompileState): string[] {
  return [...new Set([...st.poolByName.keys(), ...st.poolsByClass.keys(), ...st.classes.keys()])]
}

function reportUnprovided(st: CompileState, rec: StageRec, label: string, field: string) {
  const { ctx } = st
  const path: Path = [...rec.path, 'execution', field]
  if (st.classes.has(label)) {
    ctx.error('unknown-pool', `no pool provides '${label}': the resource class is declared but no pool uses it`, path, {
      hint: `add a pool:  execution: { pools: { ${label}: { resources: ${label}, workers: 1 } } }`,
    })
    return
  }
  const dym = closest(label, labelCandidates(st), 2)
  const known = [...st.poolByName.keys()]
  ctx.error(
    'unknown-pool',
    `no pool provides '${label}'${dym.length ? `; did you mean ${dym.map((x) => `'${x}'`).join(' or ')}?` : ''}`,
    path,
    {
      hint: `${known.length ? `pools: ${known.join(', ')}. ` : ''}Declare it:  execution: { pools: { ${label}: { workers: 1, resources: { cpus: 1, memory: 4GB } } } }`,
    },
  )
}

function checkGpuLabel(st: CompileState, rec: StageRec, label: string, field: string, pool: PlanPool) {
  if (/gpu|cuda/i.test(label) && pool.resources.gpus <= 0) {
    st.ctx.warn(
      'gpu-pool-without-gpus',
      `stage '${rec.id}' ${field}s '${label}' but pool '${pool.name}' has no GPUs`,
      [...rec.path, 'execution', field],
      {
        hint: `give the pool GPUs:  resources: { gpus: 1 }  (execution.${pool.resourceClass ? `resources.${pool.resourceClass}` : `pools.${pool.name}.resources`})`,
      },
    )
  }
}

function ambiguity(st: CompileState, rec: StageRec, label: string, field: string, p: Provider) {
  if (p.others.length) {
    st.ctx.warn(
      'ambiguous-pool',
      `several pools use resource class '${label}' (${[p.pool, ...p.others].map((x) => x.name).join(', ')}); stage '${rec.id}' goes to the first, '${p.pool.name}'`,
      [...rec.path, 'execution', field],
      {
        hint: `name the pool directly:  ${field}: ${p.pool.name}`,
      },
    )
  }
}

function routeStage(st: CompileState, rec: StageRec): { pool: PlanPool; routing: PlanStageRouting } {
  const { ctx } = st
  const e = rec.exec
  const require = nonEmptyString(e.require) ? e.require.trim() : null
  const prefer = nonEmptyString(e.prefer) ? e.prefer.trim() : null
  const fallback = nonEmptyString(e.fallback) ? e.fallback.trim() : null
  /** the stage on `pool`: the routing it asked for, the decision taken and why */
  const routed = (pool: PlanPool, decision: PlanStageRouting['decision'], reason: string) => ({
    pool,
    routing: { decision, fallback, prefer, reason, require },
  })

  if (require && prefer) {
    ctx.error(
      'require-and-prefer',
      `stage '${rec.id}' sets both 'require' and 'prefer'`,
      [...rec.path, 'execution', 'prefer'],
      {
        at: 'key',
        hint: "use 'require' for a hard requirement, or 'prefer' with an optional 'fallback'",
      },
    )
  }
  if (require) {
    if (fallback) {
      ctx.warn(
        'fallback-ignored',
        `'fallback' is ignored when 'require' is set`,
        [...rec.path, 'execution', 'fallback'],
        {
          at: 'key',
          hint: "use 'prefer' instead of 'require' to allow a fallback",
        },
      )
    }
    const p = provider(st, require)
    if (p) {
      ambiguity(st, rec, require, 'require', p)
      checkGpuLabel(st, rec, require, 'require', p.pool)
      return routed(p.pool, 'require', `requires '${require}': runs on ${describeProvider(p, require)}`)
    }
    reportUnprovided(st, rec, require, 'require')
    return routed(
      ensureDefaultPool(st),
      'default',
      `requires '${require}' but no pool provides it (error); shown on the default pool`,
    )
  }
  if (prefer) {
    const p = provider(st, prefer)
    if (p) {
      ambiguity(st, rec, prefer, 'prefer', p)
      checkGpuLabel(st, rec, prefer, 'prefer', p.pool)
      return routed(p.pool, 'prefer', `prefers '${prefer}': ${describeProvider(p, prefer)} provides it`)
    }
    if (fallback) {
      const f = provider(st, fallback)
      if (f) {
        ambiguity(st, rec, fallback, 'fallback', f)
        return routed(
          f.pool,
          'fallback',
          `prefers '${prefer}' but no pool provides it: falls back to '${fallback}' on ${describeProvider(f, fallback)}`,
        )
      }
      reportUnprovided(st, rec, fallback, 'fallback')
      return routed(
        ensureDefaultPool(st),
        'default',
        `neither '${prefer}' nor the fallback '${fallback}' is provided by a pool (error); shown on the default pool`,
      )
    }
    const dym = closest(prefer, labelCandidates(st), 2)
    ctx.warn(
      'prefer-unavailable',
      `no pool provides the preferred '${prefer}'; stage '${rec.id}' runs on the default pool`,
      [...rec.path, 'execution', 'prefer'],
      {
        hint: dym.length
          ? `did you mean ${dym.map((x) => `'${x}'`).join(' or ')}? Or add 'fallback:' to choose where it runs instead`
          : "add a pool that provides it, or a 'fallback:' label",
      },
    )
    return routed(
      ensureDefaultPool(st),
      'default',
      `prefers '${prefer}' but no pool provides it and there is no fallback: runs on the default pool`,
    )
  }
  if (fallback) {
    ctx.warn(
      'fallback-without-prefer',
      `'fallback' has no effect without 'prefer'`,
      [...rec.path, 'execution', 'fallback'],
      {
        at: 'key',
        hint: `add  prefer: <label>  or remove 'fallback'`,
      },
    )
  }
  const d = ensureDefaultPool(st)
  return routed(
    d,
    'default',
    d.implicit ? 'no requirement: runs on the default pool (implicit)' : "no requirement: runs on the 'default' pool",
  )
}

function normaliseModifiers(st: CompileState, rec: StageRec, pool: PlanPool): PlanModifier[] {
  const { ctx } = st
  const raw = rec.exec.modifiers
  const out: PlanModifier[] = []
  if (!Array.isArray(raw)) return out
  const seen = new Map<string, number>()
  if (raw.length === 0) return out
  const known = [...KNOWN_MODIFIERS.map((m) => m.name), ...st.customModifiers.keys()]
  raw.forEach((m, j) => {
    const path: Path = [...rec.path, 'execution', 'modifiers', j]
    let name: string | null = null
    let params: Obj = {}
    let namePath = path
    if (typeof m === 'string') name = m.trim()
    else if (isObj(m) && typeof m.name === 'string') {
      name = m.name.trim()
      params = asObj(m.params)
      namePath = [...path, 'name']
    }
    if (!name) return // reported by the schema
    const info = MODIFIERS_BY_NAME.get(name)
    const custom = st.customModifiers.get(name)
    const removed = REMOVED_MODIFIERS.get(name)
    if (removed && !custom) {
      ctx.error('unsupported-modifier', `modifier '${name}' is not supported`, namePath, { hint: removed })
    } else if (custom && !info) {
      // registered names validate in fasthep-flow; Control Room has no implementation to run for them
      ctx.error(
        'unimplemented-modifier',
        `modifier '${name}' is registered under registry.modifiers, but Control Room cannot run it: a registered modifier has no implementation here`,
        namePath,
        {
          hint: `remove it, or use a built-in modifier (${KNOWN_MODIFIERS.map((m) => m.name).join(', ')}); a wrapper command can go into the op's command`,
        },
      )
    } else if (!info && !custom) {
      const dym = didYouMean(name, known)
      ctx.error('unknown-modifier', `unknown execution modifier '${name}'`, namePath, {
        hint: `${dym ? dym + ' ' : ''}known modifiers: ${known.join(', ')}; register others under registry.modifiers`,
      })
    }
    if (seen.has(name)) {
      ctx.error('duplicate-modifier', `modifier '${name}' is listed twice on stage '${rec.id}'`, namePath, {
        hint: 'remove the repeated entry',
      })
      return
    }
    seen.set(name, j)
    const requiresGpu = info ? info.requiresGpu : custom ? custom.requiresGpu : false
    if (requiresGpu && pool.resources.gpus <= 0) {
      ctx.warn(
        'gpu-modifier-on-cpu-pool',
        `modifier '${name}' needs a GPU but stage '${rec.id}' runs on pool '${pool.name}', which has no GPUs`,
        namePath,
        {
          hint: 'route the stage to a GPU pool (require: gpu) or remove the modifier',
        },
      )
    }
    out.push({ name, params })
  })
  return out
}

function stageTimeout(ctx: SourceContext, rec: StageRec): number | null {
  const t = rec.exec.timeout
  if (typeof t !== 'string' && typeof t !== 'number') return null
  const r = tryParseDuration(t, { bareUnit: 'seconds' })
  if (!r.ok) {
    ctx.error('invalid-duration', `cannot read timeout: ${r.error}`, [...rec.path, 'execution', 'timeout'], {
      hint: DURATION_HINT + ' (a plain number is seconds)',
    })
    return null
  }
  if (r.value <= 0) {
    ctx.error('invalid-duration', 'timeout must be longer than 0 seconds', [...rec.path, 'execution', 'timeout'], {
      hint: DURATION_HINT,
    })
    return null
  }
  return r.value
}
