/**
 * Pass 3, validate: each stage against the schema (ids, ops), its dependencies (needs, from, the
 * implicit previous stage), cycles, and the topological order.
 */
import { BUILTIN_OP_NAMES, BUILTIN_OPS } from '../catalog.ts'
import { cycleThrough, cyclicComponents, topoOrder } from '../graph.ts'
import { checkHepStageParams } from '../hep-check.ts'
import { StageSchema } from '../schema.ts'
import type { Path, SourceContext } from '../source.ts'
import { didYouMean } from '../suggest.ts'
import type { DatasetSpec, EdgeKind, OpSpec, PlanStageInput, SourceRange, StageApplicability } from '../types.ts'
import { validateWith } from '../zodmap.ts'
import type { MapOptions } from '../zodmap.ts'
import { hasControlCharacters } from './pools.ts'
import { asObj, COMMON_MAP, isObj, nonEmptyString, quoteList } from './state.ts'
import type { Obj, StageRec } from './state.ts'

/** hep ops that read events (one task per data partition) */
const HEP_EVENT_OPS = new Set(['hep.define', 'hep.select', 'hep.hist'])

/**
 * Stage texts the schema accepted in an earlier compile: the editor re-plans the whole document on
 * every keystroke, and all but one stage are unchanged. With the fast parser (no anchors, aliases or
 * multi-line scalars) a stage's value is a function of its text and starting column alone, so the
 * same text is valid again and its schema check is skipped. Bounded: cleared when full.
 */
const validStageTexts = new Set<string>()
const MAX_VALID_STAGE_TEXTS = 20_000
function rememberValid(key: string): void {
  if (validStageTexts.size >= MAX_VALID_STAGE_TEXTS) validStageTexts.clear()
  validStageTexts.add(key)
}
/**
 * Stage values the schema accepted: the incremental compiler (compile.ts) hands unchanged stages
 * over as the same objects, so they are recognised without building their text key. The compiler
 * never mutates a parsed value, and the check depends on the value alone.
 */
const validStageValues = new WeakSet<object>()
function stageTextKey(source: string, start: number, end: number): string {
  const column = start - source.lastIndexOf('\n', start - 1)
  return `${column}:${source.slice(start, end)}`
}

export interface ValidatedStages {
  recs: StageRec[]
  idToRec: Map<string, StageRec>
  stageRanges: Record<string, SourceRange>
}

/** Each stage: schema, id, op. */
export function validateStages(
  ctx: SourceContext,
  stagesRaw: unknown[],
  ops: Record<string, OpSpec>,
  datasets: DatasetSpec[],
  forRun: boolean,
): ValidatedStages {
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
    const node = stageNodes[i]
    if (!validStageValues.has(raw)) {
      const key = ctx.parser === 'fast' && node ? stageTextKey(ctx.source, node.start, node.end) : null
      if (key !== null && validStageTexts.has(key)) validStageValues.add(raw)
      else if (validateWith(ctx, StageSchema, raw, path, stageMapOptions)) {
        validStageValues.add(raw)
        if (key !== null) rememberValid(key)
      }
    }
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
      } else if (hasControlCharacters(id)) {
        // ids reach job scripts, submit descriptions, file names and terminals
        ctx.error('invalid-stage-id', `stage id ${JSON.stringify(id)} contains control characters`, [...path, 'id'], {
          hint: "use letters, digits, '_' and '-', e.g. id: SelectMuons",
        })
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
    const appliesTo = readApplicability(ctx, rec, datasets)
    if (appliesTo) rec.appliesTo = appliesTo
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
    if (node) stageRanges[id] = ctx.range(node.start, node.end)
  }
  return { recs, idToRec, stageRanges }
}

/** Resolve `needs`, `from` and implicit edges into `rec.deps` and `rec.inputs`. */
export function resolveDependencies(
  ctx: SourceContext,
  js: Obj,
  { recs, idToRec }: ValidatedStages,
  datasets: DatasetSpec[],
): void {
  const recIndex = new Map<StageRec, number>()
  for (let k = 0; k < recs.length; k++) recIndex.set(recs[k]!, k)
  const sourceNames = new Set<string>([...Object.keys(asObj(js.sources)), ...datasets.map((d) => d.name)])
  const allIds = [...idToRec.keys()]

  for (let k = 0; k < recs.length; k++) {
    const rec = recs[k]
    const needsGiven = rec!.raw.needs !== undefined && rec!.raw.needs !== null
    const fromGiven = rec!.raw.from !== undefined && rec!.raw.from !== null
    if (!needsGiven && !fromGiven) {
      // implicit: the previous stage in source order (most stages of a chain: no bookkeeping)
      if (k > 0) rec!.deps.push({ idx: k - 1, kind: 'implicit', path: rec!.path })
      continue
    }
    const seen = new Map<number, { kind: EdgeKind; path: Path }>()

    if (needsGiven) {
      const needs = rec!.raw.needs
      const list: { v: unknown; path: Path }[] = Array.isArray(needs)
        ? needs.map((v, j) => ({ v, path: [...rec!.path, 'needs', j] }))
        : [{ v: needs, path: [...rec!.path, 'needs'] }]
      const listed = new Set<string>()
      for (const { v, path } of list) {
        if (typeof v !== 'string' && typeof v !== 'number') continue // reported by the schema
        const name = String(v).trim()
        if (listed.has(name)) {
          ctx.warn('duplicate-need', `'${name}' is listed twice in needs`, path, { hint: 'remove the repeated entry' })
          continue
        }
        listed.add(name)
        if (name === rec!.id) {
          ctx.error('self-reference', `stage '${rec!.id}' needs itself`, path, {
            hint: 'a stage cannot depend on itself: remove this entry',
          })
          continue
        }
        const target = idToRec.get(name)
        if (!target) {
          const dym = didYouMean(name, allIds)
          ctx.error('unknown-need', `stage '${rec!.id}' needs '${name}', which is not a stage id`, path, {
            hint: dym ?? (allIds.length ? `stage ids: ${truncList(allIds)}` : undefined),
          })
          continue
        }
        addDep(seen, recIndex.get(target)!, 'needs', path)
      }
    }
    if (fromGiven) {
      const from = rec!.raw.from
      const list: { v: unknown; path: Path }[] = Array.isArray(from)
        ? from.map((v, j) => ({ v, path: [...rec!.path, 'from', j] }))
        : [{ v: from, path: [...rec!.path, 'from'] }]
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
        rec!.inputs.push(input)
        if (input.node === rec!.id) {
          ctx.error('self-reference', `stage '${rec!.id}' takes input from itself`, refPath, {
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
            `stage '${rec!.id}' takes input from '${input.node}', which is not a stage, source or dataset`,
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
    for (const [idx, v] of seen) rec!.deps.push({ idx, kind: v.kind, path: v.path })
  }
}

/** Report cycles; return the topological order (indices into recs). */
export function orderStages(ctx: SourceContext, recs: StageRec[]): number[] {
  const n = recs.length
  const deps = recs.map((r) => r.deps.map((d) => d.idx))
  const comps = cyclicComponents(n, deps)
  for (const comp of comps) {
    const cyc = cycleThrough(comp, deps)
    const names = cyc.map((x) => recs[x]!.id)
    const s = recs[cyc[0]!]
    const pred = cyc[cyc.length - 2]
    const entry = s!.deps.find((d) => d.idx === pred)
    ctx.error('cycle', `dependency cycle: ${names.join(' → ')}`, entry ? entry.path : [...s!.path, 'needs'], {
      hint: `remove one of these dependencies; stages in the cycle: ${quoteList([...new Set(names)])}`,
    })
  }
  const order = topoOrder(n, deps)
  return order
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

/** `applies_to: {eventtype, datasets}`: checked against the declared datasets. */
function readApplicability(ctx: SourceContext, rec: StageRec, datasets: DatasetSpec[]): StageApplicability | null {
  const raw = rec.raw.applies_to
  if (!isObj(raw)) return null // absent, or reported by the schema
  const out: StageApplicability = {}
  const path = [...rec.path, 'applies_to']
  if (raw.eventtype === 'data' || raw.eventtype === 'mc') out.eventtype = raw.eventtype
  if (Array.isArray(raw.datasets)) {
    const names = new Set(datasets.map((d) => d.name))
    out.datasets = []
    raw.datasets.forEach((n, j) => {
      if (typeof n !== 'string') return
      if (!names.has(n)) {
        const dym = didYouMean(n, names)
        ctx.error(
          'unknown-dataset',
          `stage '${rec.id}' applies to dataset '${n}', which is not declared`,
          [...path, 'datasets', j],
          {
            hint: dym ?? (names.size ? `datasets: ${truncList([...names])}` : 'declare it under data.datasets'),
          },
        )
      }
      out.datasets!.push(n)
    })
  }
  if (!rec.op.startsWith('hep.')) {
    ctx.warn(
      'applies-to-ignored',
      `'applies_to' selects the datasets a hep.* stage reads; op '${rec.op}' reads none`,
      path,
      {
        at: 'key',
        hint: 'remove applies_to, or use it on hep.define / hep.select / hep.hist stages',
      },
    )
  } else {
    const matching = datasets.filter(
      (d) =>
        (!out.eventtype || String(d.eventtype ?? 'mc').toLowerCase() === out.eventtype) &&
        (!out.datasets || out.datasets.includes(d.name)),
    )
    if (datasets.length && matching.length === 0)
      ctx.error('applies-to-nothing', `stage '${rec.id}' applies to none of the declared datasets`, path, {
        at: 'key',
        hint: "check the datasets' eventtype (data or mc; mc when not given, as in fasthep-flow)",
      })
  }
  return out
}
