/**
 * Pass 5, plan: stages in topological order, edges, the metadata passed through, and the plan's
 * hash (sha256 of its canonical JSON).
 */
import { canonicalize, sha256Hex } from '../hash.ts'
import type {
  CredentialRef,
  DatasetSpec,
  ExecutionPlan,
  PlanEdge,
  PlanEnvironment,
  PlanStage,
  Problem,
} from '../types.ts'
import type { RoutedStage } from './route.ts'
import { isObj, setOwn } from './state.ts'
import type { CompileState, Obj, StageRec } from './state.ts'

export interface PlanInputs {
  js: Obj
  analysis: Obj
  registry: Obj
  ex: Obj
  st: CompileState
  recs: StageRec[]
  routed: RoutedStage[]
  order: number[]
  environment: PlanEnvironment
  credentials: CredentialRef[]
  datasets: DatasetSpec[]
}

export function buildPlan({
  js,
  analysis,
  registry,
  ex,
  st,
  recs,
  routed,
  order,
  environment,
  credentials,
  datasets,
}: PlanInputs): ExecutionPlan {
  const { backend, strategy, config, ops } = st
  const planStages: PlanStage[] = []
  const edges: PlanEdge[] = []
  for (const k of order) {
    const { rec, stage } = routed[k]
    planStages.push(stage)
    for (const d of rec.deps) edges.push({ from: recs[d.idx].id, kind: d.kind, to: rec.id })
  }
  for (const s of planStages) st.poolByName.get(s.pool)?.stages.push(s.id)

  // ---- passthrough -------------------------------------------------------------------------
  const passthrough: Obj = {}
  for (const key of Object.keys(js)) {
    if (key === 'analysis' || key === 'execution' || key === 'registry' || key === 'name' || key === 'datasets')
      continue
    if (key === 'data' && isObj(js.data)) {
      const { datasets: _d, ...rest } = js.data
      if (Object.keys(rest).length) passthrough.data = rest
      continue
    }
    setOwn(passthrough, key, js[key])
  }
  {
    const { stages: _s, ...rest } = analysis
    if (Object.keys(rest).length) passthrough.analysis = rest
    const { ops: _o, ...regRest } = registry
    if (Object.keys(regRest).length) passthrough.registry = regRest
    if (Array.isArray(ex.profiles)) passthrough.execution = { profiles: ex.profiles }
  }

  const problemsSoFar = sortProblems(st.ctx.problems)
  const planBody: Omit<ExecutionPlan, 'hash'> = {
    schemaVersion: 1,
    backend,
    strategy,
    pools: st.pools,
    stages: planStages,
    edges,
    environment,
    credentials,
    config,
    registry: { ops },
    datasets,
    passthrough,
    warnings: problemsSoFar.filter((p) => p.severity === 'warning'),
  }
  if (typeof js.name === 'string') (planBody as ExecutionPlan).name = js.name
  // canonical JSON (sorted keys): objects are built in key order, so this is mostly a walk
  return withLazyHash(canonicalize(planBody) as Obj)
}

/** De-duplicate identical reports, then order by position. */
export function sortProblems(ps: Problem[]): Problem[] {
  // de-duplicate identical reports, then order by position
  const seen = new Set<string>()
  const out: Problem[] = []
  for (const p of ps) {
    const k = `${p.range.start.offset}|${p.range.end.offset}|${p.code}|${p.message}`
    if (seen.has(k)) continue
    seen.add(k)
    out.push(p)
  }
  return out.sort(
    (a, b) =>
      a.range.start.offset - b.range.start.offset ||
      a.range.end.offset - b.range.end.offset ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  )
}

const hashInputs = new WeakMap<object, Obj>()

/**
 * The text `plan.hash` is the SHA-256 of (canonical JSON of the plan without `hash`), for a plan
 * built by this compiler, else null: the composer's worker hashes it with the browser's native
 * SHA-256 and sets `plan.hash`, instead of the lazy getter's pure-JS one.
 */
export function planHashInput(plan: ExecutionPlan): string | null {
  const body = hashInputs.get(plan)
  return body ? JSON.stringify(body) : null
}

/**
 * The plan object, keys in sorted order, with `hash` as an enumerable, memoised getter placed in
 * its sorted position: JSON.stringify, spreading, structuredClone-by-walk and superjson all see a
 * plain `hash` string, but the editor's per-keystroke compile does not pay for hashing (~3 ms on
 * 500 stages) unless someone reads it. hash = sha256(canonical JSON of the plan without `hash`).
 */
function withLazyHash(body: Obj): ExecutionPlan {
  const plan: Obj = {}
  hashInputs.set(plan, body)
  let hash: string | null = null
  const keys = Object.keys(body)
  let placed = false
  const defineHash = () => {
    Object.defineProperty(plan, 'hash', {
      enumerable: true,
      configurable: true,
      get() {
        if (hash === null) hash = sha256Hex(JSON.stringify(body))
        return hash
      },
      set(v: string) {
        Object.defineProperty(plan, 'hash', { value: v, enumerable: true, writable: true, configurable: true })
      },
    })
    placed = true
  }
  for (const k of keys) {
    if (!placed && k > 'hash') defineHash()
    plan[k] = body[k]
  }
  if (!placed) defineHash()
  return plan as unknown as ExecutionPlan
}
