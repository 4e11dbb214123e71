/**
 * The workflow compiler: YAML text -> execution plan + located problems.
 *
 *   parse (ranges) -> structural validation (zod, per section / per stage) -> normalise
 *   -> graph (needs/from/implicit edges, cycles, topological order) -> routing -> plan (+ hash)
 *
 * Pure: no I/O. Never throws: an unexpected failure is reported as an `internal-error` problem.
 *
 * Language decisions (see also DESIGN.md):
 *  - Dependencies: a stage with neither `needs` nor `from` depends on the previous stage in source
 *    order (the first has none). `needs: [A, B]` is explicit; `needs: []` means no dependency.
 *    Stages named in `from` are dependencies too, in addition to `needs`. A `from` naming a
 *    top-level `sources` stream or a dataset (not a stage) binds an input without an edge.
 *    `from: "Stage.port"` binds port `port` of `Stage`.
 *  - One edge per (upstream, downstream) pair; its kind is `from` if a product flows, else
 *    `needs`, else `implicit`.
 *  - Routing: `require: L` goes to the pool named L, else to the pool whose resource class is L
 *    (the first declared one, with a warning, when several are); `prefer: X` the same, else
 *    `fallback: Y`, else the default pool with a warning. No requirement: the `default` pool,
 *    created implicitly (1 worker, 1 cpu, or `execution.config.workers` workers) when undeclared.
 *  - Durations: stage `timeout` and credential `min_valid` bare numbers are seconds
 *    (fasthep-flow); pool `walltime` bare numbers are minutes (Slurm); `maxruntime` seconds (HTCondor).
 *  - Memory: binary units, bare numbers are MB (see units.ts).
 */
import {
  BACKENDS,
  BUILTIN_OP_NAMES,
  BUILTIN_OPS,
  DASK_ONLY_CONFIG_KEYS,
  ENVIRONMENT_TYPES,
  KNOWN_MODIFIERS,
  MODIFIERS_BY_NAME,
} from './catalog.ts'
import { cycleThrough, cyclicComponents, topoOrder } from './graph.ts'
import { checkHepStageParams } from './hep-check.ts'

/** hep ops that read events (one task per data partition) */
const HEP_EVENT_OPS = new Set(['hep.define', 'hep.select', 'hep.hist'])
import { canonicalize, sha256Hex } from './hash.ts'
import {
  CredentialsSchema,
  DataSchema,
  EnvironmentSchema,
  ExecutionSchema,
  RegistrySchema,
  StageSchema,
} from './schema.ts'
import { SourceContext } from './source.ts'
import type { Path } from './source.ts'
import { closest, didYouMean } from './suggest.ts'
import type {
  Backend,
  CompileOptions,
  CompileResult,
  CredentialRef,
  DatasetSpec,
  EdgeKind,
  ExecutionPlan,
  OpSpec,
  PlanEdge,
  PlanEnvironment,
  PlanModifier,
  PlanPool,
  PlanStage,
  PlanStageInput,
  PlanStageRouting,
  PoolResources,
  Problem,
  SourceRange,
  Strategy,
} from './types.ts'
import { tryParseDuration, tryParseMemory } from './units.ts'
import { validateWith } from './zodmap.ts'
import type { MapOptions } from './zodmap.ts'

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)
const asObj = (v: unknown): Obj => (isObj(v) ? v : {})
const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim() !== ''
const quoteList = (xs: string[]) => xs.map((x) => `'${x}'`).join(', ')

const DASK_ONLY = new Set<string>(DASK_ONLY_CONFIG_KEYS)

/** Assign an own property, even for keys such as `__proto__`. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}
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

const DEFAULT_RESOURCES: PoolResources = { cpus: 1, diskBytes: null, gpus: 0, memoryBytes: null }

const MEMORY_HINT = 'write a size such as 4GB, 512MiB or 64G (GB = GiB = 1024^3 bytes; a plain number is MB)'
const DURATION_HINT = 'write a duration such as 02:00:00, 1-00:00:00, 90m, 2h or 30s'

/** Codes for schema issues at particular places. */
const COMMON_MAP: MapOptions = {
  codeFor(issue, path) {
    const last = path[path.length - 1]
    if ((last === 'workers' || last === 'n_workers') && (issue.code === 'too_small' || issue.code === 'invalid_type')) {
      if (issue.code === 'too_small') return 'invalid-workers'
    }
    return undefined
  },
}

interface StageRec {
  index: number
  id: string
  hasId: boolean
  raw: Obj
  path: Path
  op: string
  params: Obj
  /** resolved upstream (dependency) indices into `stages` with the path of the entry */
  deps: { idx: number; kind: EdgeKind; path: Path }[]
  inputs: PlanStageInput[]
  exec: Obj
}

interface CompileState {
  ctx: SourceContext
  forRun: boolean
  backend: Backend
  strategy: Strategy
  config: Obj
  classes: Map<string, PoolResources>
  pools: PlanPool[]
  poolByName: Map<string, PlanPool>
  poolsByClass: Map<string, PlanPool[]>
  ops: Record<string, OpSpec>
  customModifiers: Map<string, { requiresGpu: boolean }>
}

export function compileWorkflow(source: string, options: CompileOptions = {}): CompileResult {
  let ctx: SourceContext | null = null
  try {
    ctx = new SourceContext(typeof source === 'string' ? source : String(source ?? ''))
    return compileInner(ctx, options)
  } catch (e) {
    const problems: Problem[] = ctx ? [...ctx.problems] : []
    const zero = { line: 1, col: 1, offset: 0 }
    problems.push({
      code: 'internal-error',
      severity: 'error',
      message: `the compiler failed unexpectedly: ${String((e as Error)?.message ?? e)}`,
      hint: 'this is a bug in Control Room; please report it with the workflow text',
      range: { start: zero, end: zero },
      path: [],
    })
    return { ok: false, plan: null, problems, stageRanges: {} }
  }
}

function finish(
  ctx: SourceContext,
  plan: ExecutionPlan | null,
  stageRanges: Record<string, SourceRange>,
): CompileResult {
  const problems = sortProblems(ctx.problems)
  return { ok: !problems.some((p) => p.severity === 'error'), plan, problems, stageRanges }
}

function sortProblems(ps: Problem[]): Problem[] {
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

function compileInner(ctx: SourceContext, options: CompileOptions): CompileResult {
  if (!ctx.valueOk) return finish(ctx, null, {})
  const js = ctx.value

  if (js === null || js === undefined) {
    ctx.error('empty-workflow', 'the workflow is empty', [], {
      hint: 'start with:  analysis: { stages: [ { id: Hello, op: shell, params: { command: "echo hello" } } ] }',
    })
    return finish(ctx, null, {})
  }
  if (!isObj(js)) {
    ctx.error(
      'invalid-workflow',
      `a workflow must be a mapping with 'analysis' and 'execution', got ${Array.isArray(js) ? 'a list' : typeof js}`,
      [],
      {
        hint: 'the top level needs keys such as analysis:, execution:, data:',
      },
    )
    return finish(ctx, null, {})
  }
  const analysis = js.analysis
  if (!isObj(analysis) || !Array.isArray(analysis.stages)) {
    if (analysis === undefined) {
      ctx.error('missing-stages', "the workflow has no 'analysis.stages'", [], {
        hint: 'add a list of stages:  analysis: { stages: [ { id: First, op: noop } ] }',
        range: ctx.headRange(ctx.root) ?? undefined,
      })
    } else if (!isObj(analysis)) {
      ctx.error(
        'missing-stages',
        `'analysis' must be a mapping with 'stages', got ${Array.isArray(analysis) ? 'a list' : typeof analysis}`,
        ['analysis'],
        {
          hint: "write 'analysis:' then, indented, 'stages:' with a list of stages",
        },
      )
    } else if (analysis.stages === undefined) {
      ctx.error('missing-stages', "'analysis' has no 'stages'", ['analysis'], {
        at: 'key',
        hint: "add 'stages:' with a list of stages under 'analysis'",
      })
    } else {
      ctx.error('missing-stages', "'analysis.stages' must be a list of stages", ['analysis', 'stages'], {
        hint: "each stage starts with '- id: ...'",
      })
    }
    return finish(ctx, null, {})
  }

  const forRun = options.forRun === true

  // ---- top level sections ------------------------------------------------------------------
  const registry = asObj(js.registry)
  if (js.registry !== undefined) validateWith(ctx, RegistrySchema, js.registry, ['registry'], COMMON_MAP)
  if (js.data !== undefined) validateWith(ctx, DataSchema, js.data, ['data'], COMMON_MAP)
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

  const datasets = normaliseDatasets(ctx, js.data)

  // ---- execution ----------------------------------------------------------------------------
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
  const environment = normaliseEnvironment(ex.environment)
  const credentials = normaliseCredentials(ctx, ex.credentials)

  // ---- stages ---------------------------------------------------------------------------------
  const stagesRaw = analysis.stages as unknown[]
  const stagesPath: Path = ['analysis', 'stages']
  const stagesLoc = ctx.locate(stagesPath)
  const stageNodes = stagesLoc.exact && stagesLoc.node && stagesLoc.node.kind === 'seq' ? stagesLoc.node.items : []

  const recs: StageRec[] = []
  const idToRec = new Map<string, StageRec>()
  const stageRanges: Record<string, SourceRange> = {}
  const rawIds: string[] = []

  if (stagesRaw.length === 0) {
    ctx.warn('no-stages', "'analysis.stages' is empty", stagesPath, {
      at: 'key',
      hint: 'add a stage: - id: First\n  op: noop',
    })
  }

  // one options object for every stage (no per-stage closures: this loop is hot)
  const stageNameAt = (p: Path): string => {
    const i = p[2] as number
    const r = stagesRaw[i]
    return isObj(r) && nonEmptyString(r.id) ? `stage '${r.id.trim()}'` : `stage ${i + 1}`
  }
  const stageMapOptions: MapOptions = {
    ...COMMON_MAP,
    where: (p) =>
      p.length === 3
        ? stageNameAt(p)
        : p.length === 4 && p[3] === 'execution'
          ? `the execution of ${stageNameAt(p)}`
          : undefined,
    missingMessage: (p) => (p.length === 4 ? `${stageNameAt(p)} has no '${String(p[3])}'` : undefined),
    missingCode: (p) =>
      p.length === 4 && p[3] === 'id' ? 'missing-id' : p.length === 4 && p[3] === 'op' ? 'missing-op' : undefined,
    missingHint: (p) =>
      p[p.length - 1] === 'id'
        ? 'give the stage a unique id, e.g. id: SelectMuons'
        : p[p.length - 1] === 'op'
          ? `give the stage an operation, e.g. op: shell (built in: ${BUILTIN_OPS.map((o) => o.name).join(', ')})`
          : undefined,
  }

  for (let i = 0; i < stagesRaw.length; i++) {
    const raw = stagesRaw[i]
    const path: Path = [...stagesPath, i]
    if (!isObj(raw)) {
      ctx.error(
        'invalid-stage',
        `stage ${i + 1} must be a mapping {id, op, ...}, got ${raw === null ? 'an empty item' : Array.isArray(raw) ? 'a list' : typeof raw}`,
        path,
        {
          hint: "write it as '- id: Name' with 'op: ...' on the next line, indented",
        },
      )
      continue
    }
    validateWith(ctx, StageSchema, raw, path, stageMapOptions)
    let id: string
    let hasId = true
    if (nonEmptyString(raw.id)) id = raw.id.trim()
    else if (typeof raw.id === 'number' || typeof raw.id === 'boolean') id = String(raw.id)
    else {
      hasId = false
      id = `<stage ${i + 1}>`
      if (typeof raw.id === 'string') {
        ctx.error('missing-id', `stage ${i + 1} has an empty id`, [...path, 'id'], {
          hint: 'give the stage a unique id, e.g. id: SelectMuons',
        })
      }
    }
    if (hasId) {
      const first = idToRec.get(id)
      if (first) {
        const firstLine = ctx.rangeAt([...first.path, 'id']).start.line
        ctx.error(
          'duplicate-stage-id',
          `stage id '${id}' is already used by the stage at line ${firstLine}`,
          [...path, 'id'],
          {
            hint: 'stage ids must be unique: rename one of them',
          },
        )
        let k = 2
        while (idToRec.has(`${id}#${k}`)) k++
        id = `${id}#${k}`
      } else if (!/^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(id)) {
        ctx.warn(
          'stage-id-format',
          `stage id '${id}' contains characters other than letters, digits, '_' and '-'`,
          [...path, 'id'],
          {
            hint: "'.' separates a stage from its port in 'from: Stage.port'; spaces make ids hard to reference",
          },
        )
      }
    }
    rawIds.push(id)
    const op = nonEmptyString(raw.op) ? raw.op.trim() : ''
    if (typeof raw.op === 'string' && !op) {
      ctx.error('missing-op', `stage '${id}' has an empty op`, [...path, 'op'], {
        hint: `e.g. op: shell (built in: ${BUILTIN_OPS.map((o) => o.name).join(', ')})`,
      })
    }
    if (op && !BUILTIN_OP_NAMES.has(op) && !Object.hasOwn(ops, op)) {
      const candidates = [...BUILTIN_OP_NAMES, ...Object.keys(ops)]
      const dym = didYouMean(op, candidates)
      const declare = `declare it under registry.ops, e.g.  registry: { ops: { ${op}: { command: ["sh", "-c", "..."] } } }  (or python: "module:function")`
      const msg = forRun
        ? `unknown op '${op}': it is neither built in nor declared in registry.ops, so it cannot run`
        : `unknown op '${op}': it is neither built in nor declared in registry.ops`
      ctx.add('unknown-op', forRun ? 'error' : 'warning', msg, [...path, 'op'], {
        hint: dym ? `${dym} Otherwise ${declare}` : declare,
      })
    }
    const rec: StageRec = {
      index: i,
      id,
      hasId,
      raw,
      path,
      op,
      params: asObj(raw.params),
      deps: [],
      inputs: [],
      exec: asObj(raw.execution),
    }
    recs.push(rec)
    idToRec.set(id, rec)
    // hep.* expressions: syntax errors at their characters in the YAML (hep-check.ts)
    if (op.startsWith('hep.') && !Object.hasOwn(ops, op)) {
      checkHepStageParams(ctx, op, raw.params, [...path, 'params'])
      // event-reading ops run once per data partition: without datasets there is nothing to read
      if (HEP_EVENT_OPS.has(op) && datasets.length === 0) {
        ctx.add(
          'hep-no-datasets',
          forRun ? 'error' : 'warning',
          `stage '${id}' (${op}) reads events, but the workflow declares no data.datasets`,
          [...path, 'op'],
          {
            hint: 'declare the input:  data: { datasets: [ { name: zmumu, files: [data/*.root], treeName: events } ] }',
          },
        )
      }
    }
    const node = stageNodes[i]
    if (node) stageRanges[id] = ctx.range(node.start, node.end)
  }

  // ---- dependencies -------------------------------------------------------------------------
  const recIndex = new Map<StageRec, number>()
  recs.forEach((r, k) => recIndex.set(r, k))
  const sourceNames = new Set<string>([...Object.keys(asObj(js.sources)), ...datasets.map((d) => d.name)])
  const allIds = [...idToRec.keys()]

  for (let k = 0; k < recs.length; k++) {
    const rec = recs[k]
    const needsGiven = rec.raw.needs !== undefined && rec.raw.needs !== null
    const fromGiven = rec.raw.from !== undefined && rec.raw.from !== null
    const seen = new Map<number, { kind: EdgeKind; path: Path }>()

    if (needsGiven) {
      const needs = rec.raw.needs
      const list: { v: unknown; path: Path }[] = Array.isArray(needs)
        ? needs.map((v, j) => ({ v, path: [...rec.path, 'needs', j] }))
        : [{ v: needs, path: [...rec.path, 'needs'] }]
      const listed = new Set<string>()
      for (const { v, path } of list) {
        if (typeof v !== 'string' && typeof v !== 'number') continue // reported by the schema
        const name = String(v).trim()
        if (listed.has(name)) {
          ctx.warn('duplicate-need', `'${name}' is listed twice in needs`, path, { hint: 'remove the repeated entry' })
          continue
        }
        listed.add(name)
        if (name === rec.id) {
          ctx.error('self-reference', `stage '${rec.id}' needs itself`, path, {
            hint: 'a stage cannot depend on itself: remove this entry',
          })
          continue
        }
        const target = idToRec.get(name)
        if (!target) {
          const dym = didYouMean(name, allIds)
          ctx.error('unknown-need', `stage '${rec.id}' needs '${name}', which is not a stage id`, path, {
            hint: dym ?? (allIds.length ? `stage ids: ${truncList(allIds)}` : undefined),
          })
          continue
        }
        addDep(seen, recIndex.get(target)!, 'needs', path)
      }
    }
    if (fromGiven) {
      const from = rec.raw.from
      const list: { v: unknown; path: Path }[] = Array.isArray(from)
        ? from.map((v, j) => ({ v, path: [...rec.path, 'from', j] }))
        : [{ v: from, path: [...rec.path, 'from'] }]
      for (const { v, path } of list) {
        let input: PlanStageInput | null = null
        let refPath = path
        if (typeof v === 'string') {
          input = resolveFromString(v.trim(), idToRec, sourceNames)
        } else if (isObj(v) && typeof v.node === 'string') {
          input = {
            as: typeof v.as === 'string' ? v.as : null,
            node: v.node.trim(),
            port: typeof v.port === 'string' ? v.port : null,
          }
          refPath = [...path, 'node']
        }
        if (!input) continue // reported by the schema
        rec.inputs.push(input)
        if (input.node === rec.id) {
          ctx.error('self-reference', `stage '${rec.id}' takes input from itself`, refPath, {
            hint: 'a stage cannot consume its own product',
          })
          continue
        }
        const target = idToRec.get(input.node)
        if (!target) {
          if (sourceNames.has(input.node)) continue // a source stream or a dataset
          const dym = didYouMean(input.node, [...allIds, ...sourceNames])
          ctx.error(
            'unknown-input',
            `stage '${rec.id}' takes input from '${input.node}', which is not a stage, source or dataset`,
            refPath,
            {
              hint: dym ?? (allIds.length ? `stage ids: ${truncList(allIds)}` : undefined),
            },
          )
          continue
        }
        addDep(seen, recIndex.get(target)!, 'from', refPath)
      }
    }
    if (!needsGiven && !fromGiven && k > 0) {
      // implicit: the previous stage in source order
      seen.set(k - 1, { kind: 'implicit', path: rec.path })
    }
    for (const [idx, v] of seen) rec.deps.push({ idx, kind: v.kind, path: v.path })
  }

  // ---- cycles and order --------------------------------------------------------------------------
  const n = recs.length
  const deps = recs.map((r) => r.deps.map((d) => d.idx))
  const comps = cyclicComponents(n, deps)
  for (const comp of comps) {
    const cyc = cycleThrough(comp, deps)
    const names = cyc.map((x) => recs[x].id)
    const s = recs[cyc[0]]
    const pred = cyc[cyc.length - 2]
    const entry = s.deps.find((d) => d.idx === pred)
    ctx.error('cycle', `dependency cycle: ${names.join(' → ')}`, entry ? entry.path : [...s.path, 'needs'], {
      hint: `remove one of these dependencies; stages in the cycle: ${quoteList([...new Set(names)])}`,
    })
  }
  const order = topoOrder(n, deps)

  // ---- routing -------------------------------------------------------------------------------
  const planStages: PlanStage[] = []
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
      needs: rec.deps.map((d) => recs[d.idx].id),
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
    routed.push({ rec, stage })
  }
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
    if (key === 'analysis' || key === 'execution' || key === 'registry' || key === 'name') continue
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

  const problemsSoFar = sortProblems(ctx.problems)
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
  const body = canonicalize(planBody) as Obj
  return finish(ctx, withLazyHash(body), stageRanges)
}

/**
 * The plan object, keys in sorted order, with `hash` as an enumerable, memoised getter placed in
 * its sorted position: JSON.stringify, spreading, structuredClone-by-walk and superjson all see a
 * plain `hash` string, but the editor's per-keystroke compile does not pay for hashing (~3 ms on
 * 500 stages) unless someone reads it. hash = sha256(canonical JSON of the plan without `hash`).
 */
function withLazyHash(body: Obj): ExecutionPlan {
  const plan: Obj = {}
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

function addDep(seen: Map<number, { kind: EdgeKind; path: Path }>, idx: number, kind: EdgeKind, path: Path) {
  const cur = seen.get(idx)
  if (!cur) seen.set(idx, { kind, path })
  else if (kind === 'from' && cur.kind !== 'from') cur.kind = 'from'
}

function truncList(xs: string[], max = 8): string {
  return xs.length > max ? `${xs.slice(0, max).join(', ')}, ...` : xs.join(', ')
}

function resolveFromString(s: string, ids: Map<string, StageRec>, sources: Set<string>): PlanStageInput {
  if (ids.has(s) || sources.has(s)) return { as: null, node: s, port: null }
  const first = s.indexOf('.')
  if (first > 0) {
    const a = s.slice(0, first)
    if (ids.has(a) || sources.has(a)) return { as: null, node: a, port: s.slice(first + 1) || null }
    const last = s.lastIndexOf('.')
    const b = s.slice(0, last)
    if (ids.has(b) || sources.has(b)) return { as: null, node: b, port: s.slice(last + 1) || null }
    return { as: null, node: a, port: s.slice(first + 1) || null }
  }
  return { as: null, node: s, port: null }
}

// ---- execution helpers ------------------------------------------------------------------------

function checkExecutionConfig(st: CompileState) {
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
function checkWalltime(st: CompileState, value: unknown, path: Path): number | null {
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

function parseResources(st: CompileState, spec: Obj, path: Path): PoolResources {
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

function buildClasses(st: CompileState, ex: Obj) {
  const classes = asObj(ex.resources)
  for (const name of Object.keys(classes)) {
    const spec = classes[name]
    st.classes.set(name, parseResources(st, asObj(spec), ['execution', 'resources', name]))
  }
}

function addPool(st: CompileState, pool: PlanPool) {
  st.pools.push(pool)
  st.poolByName.set(pool.name, pool)
  if (pool.resourceClass) {
    let list = st.poolsByClass.get(pool.resourceClass)
    if (!list) st.poolsByClass.set(pool.resourceClass, (list = []))
    list.push(pool)
  }
}

function configWorkers(config: Obj): number | null {
  for (const k of ['workers', 'n_workers']) {
    const v = config[k]
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v
  }
  return null
}

function buildPools(st: CompileState, ex: Obj) {
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

function ensureDefaultPool(st: CompileState): PlanPool {
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
  if (byClass?.length) return { pool: byClass[0], via: 'class', others: byClass.slice(1) }
  if (byName) return { pool: byName, via: 'name', others: [] }
  return null
}

function describeProvider(p: Provider, label: string): string {
  if (p.via === 'name') return `pool '${p.pool.name}'`
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

function mkRouting(
  require: string | null,
  prefer: string | null,
  fallback: string | null,
  decision: PlanStageRouting['decision'],
  reason: string,
): PlanStageRouting {
  return { decision, fallback, prefer, reason, require }
}

function routeStage(st: CompileState, rec: StageRec): { pool: PlanPool; routing: PlanStageRouting } {
  const { ctx } = st
  const e = rec.exec
  const require = nonEmptyString(e.require) ? e.require.trim() : null
  const prefer = nonEmptyString(e.prefer) ? e.prefer.trim() : null
  const fallback = nonEmptyString(e.fallback) ? e.fallback.trim() : null

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
      return {
        pool: p.pool,
        routing: mkRouting(
          require,
          prefer,
          fallback,
          'require',
          `requires '${require}': runs on ${describeProvider(p, require)}`,
        ),
      }
    }
    reportUnprovided(st, rec, require, 'require')
    const d = ensureDefaultPool(st)
    return {
      pool: d,
      routing: mkRouting(
        require,
        prefer,
        fallback,
        'default',
        `requires '${require}' but no pool provides it (error); shown on the default pool`,
      ),
    }
  }
  if (prefer) {
    const p = provider(st, prefer)
    if (p) {
      ambiguity(st, rec, prefer, 'prefer', p)
      checkGpuLabel(st, rec, prefer, 'prefer', p.pool)
      return {
        pool: p.pool,
        routing: mkRouting(
          require,
          prefer,
          fallback,
          'prefer',
          `prefers '${prefer}': ${describeProvider(p, prefer)} provides it`,
        ),
      }
    }
    if (fallback) {
      const f = provider(st, fallback)
      if (f) {
        ambiguity(st, rec, fallback, 'fallback', f)
        return {
          pool: f.pool,
          routing: mkRouting(
            require,
            prefer,
            fallback,
            'fallback',
            `prefers '${prefer}' but no pool provides it: falls back to '${fallback}' on ${describeProvider(f, fallback)}`,
          ),
        }
      }
      reportUnprovided(st, rec, fallback, 'fallback')
      const d = ensureDefaultPool(st)
      return {
        pool: d,
        routing: mkRouting(
          require,
          prefer,
          fallback,
          'default',
          `neither '${prefer}' nor the fallback '${fallback}' is provided by a pool (error); shown on the default pool`,
        ),
      }
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
    const d = ensureDefaultPool(st)
    return {
      pool: d,
      routing: mkRouting(
        require,
        prefer,
        fallback,
        'default',
        `prefers '${prefer}' but no pool provides it and there is no fallback: runs on the default pool`,
      ),
    }
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
  return {
    pool: d,
    routing: mkRouting(
      require,
      prefer,
      fallback,
      'default',
      d.implicit ? 'no requirement: runs on the default pool (implicit)' : "no requirement: runs on the 'default' pool",
    ),
  }
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
    if (!info && !custom) {
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

// ---- environment, credentials, datasets --------------------------------------------------------

function normaliseEnvironment(raw: unknown): PlanEnvironment {
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

function normaliseCredentials(ctx: SourceContext, raw: unknown): CredentialRef[] {
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
  // validate against the schema too (unknown keys, types) is done with the execution section
  void CredentialsSchema
  void EnvironmentSchema
  return out
}

function normaliseDatasets(ctx: SourceContext, data: unknown): DatasetSpec[] {
  const out: DatasetSpec[] = []
  if (!isObj(data) || !Array.isArray(data.datasets)) return out
  const seen = new Map<string, number>()
  data.datasets.forEach((d, j) => {
    if (!isObj(d) || typeof d.name !== 'string') return // reported by the schema
    const path: Path = ['data', 'datasets', j]
    const name = d.name
    if (seen.has(name)) {
      ctx.error('duplicate-dataset', `dataset name '${name}' is used twice`, [...path, 'name'], {
        hint: 'dataset names must be unique',
      })
      return
    }
    seen.set(name, j)
    const { tree_name, treeName, files, ...rest } = d
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
