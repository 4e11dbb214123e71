/**
 * The HEP ops as functions over a batch of events (one partition) and the op params from the workflow:
 *
 *   hep.define  { variables: { name: expr, ... } }                 -> batch with new columns
 *   hep.select  { selection: expr | {all: [...]} | {any: [...]},    -> mask + cutflow
 *                 weight?: expr }
 *   hep.hist    { histograms: [{ name, expr | variable,             -> Hist1D[]
 *                 bins: { n | nbins, low, high }, weight?, title?, xlabel?, ylabel? }],
 *                 weight?: expr (default for every histogram) }
 *
 * `prepare*` parses the params once (syntax errors thrown here, as ExprError with `path` set to where
 * the expression sits in the params, or HepError for malformed params); `run` binds against the
 * batch's columns (cached per column layout) and evaluates. Partial results merge exactly with
 * `mergeHistograms` / `mergeHistogramLists` / `mergeCutflows`.
 */
import {
  EvalContext,
  ExprError,
  bindExpr,
  evaluate,
  exprVariables,
  parseExpr,
  valueToColumn,
  CONSTANTS,
  type BoundExpr,
  type ParsedExpr,
  type Value,
} from './expr/index.ts'
import { ExactAccumulator, exactToNumber } from './exact.ts'
import { HistFiller, type Hist1D, type HistSpec } from './hist.ts'
import type { Cutflow, CutflowRow } from './cutflow.ts'
import { HepError, filterBatch, schemaOf, type ColumnSchema, type EventBatch } from './types.ts'

export { mergeHistograms, mergeHistogramLists, emptyHistogram, histogramStats } from './hist.ts'
export type { Hist1D, HistSpec } from './hist.ts'
export { mergeCutflows } from './cutflow.ts'
export type { Cutflow, CutflowRow } from './cutflow.ts'

type Path = (string | number)[]

// ---------------------------------------------------------------- params

export interface DefineParams {
  variables: Record<string, string | number>
}

export type Selection =
  | string
  | { name?: string; expr: string }
  | { name?: string; all: Selection[] }
  | { name?: string; any: Selection[] }

export interface SelectParams {
  selection: Selection
  weight?: string | number
}

export interface HistParamSpec {
  name: string
  expr?: string
  variable?: string
  bins: { n?: number; nbins?: number; low: number; high: number } | [number, number, number]
  weight?: string | number
  title?: string
  xlabel?: string
  ylabel?: string
}

export interface HistParams {
  histograms: HistParamSpec[]
  weight?: string | number
}

// ---------------------------------------------------------------- helpers

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)

function parseAt(src: unknown, path: Path): ParsedExpr {
  if (typeof src === 'number' && Number.isFinite(src)) src = String(src)
  if (typeof src === 'boolean') src = src ? 'true' : 'false'
  if (typeof src !== 'string') throw new HepError(`expected an expression (a string) at ${fmtPath(path)}`, { path })
  try {
    return parseExpr(src)
  } catch (e) {
    throw annotate(e, path, src)
  }
}

function annotate(e: unknown, path: Path, src: string): unknown {
  if (e instanceof ExprError) {
    if (e.path === undefined) e.path = path
    if (e.expr === undefined) e.expr = src
  }
  return e
}

export function fmtPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(params)'
}

function schemaKey(schema: ColumnSchema): string {
  return Object.keys(schema)
    .sort()
    .map((k) => `${k}:${schema[k]}`)
    .join('\n')
}

/** Parsed expression bound lazily per column layout. */
class ExprSlot {
  readonly parsed: ParsedExpr
  readonly path: Path
  private cache = new Map<string, BoundExpr>()
  constructor(src: unknown, path: Path) {
    this.path = path
    this.parsed = parseAt(src, path)
  }
  get source(): string {
    return this.parsed.source
  }
  variables(): string[] {
    return exprVariables(this.parsed.ast)
  }
  bind(schema: ColumnSchema, key = schemaKey(schema)): BoundExpr {
    let b = this.cache.get(key)
    if (!b) {
      try {
        b = bindExpr(this.parsed, schema)
      } catch (e) {
        throw annotate(e, this.path, this.parsed.source)
      }
      this.cache.set(key, b)
    }
    return b
  }
  eval(ctx: EvalContext, schema: ColumnSchema, key?: string): { bound: BoundExpr; value: Value } {
    const bound = this.bind(schema, key)
    try {
      return { bound, value: evaluate(bound, ctx) }
    } catch (e) {
      throw annotate(e, this.path, this.parsed.source)
    }
  }
  error(message: string, hint?: string): ExprError {
    const e = new ExprError('type', message, 0, this.parsed.source.length, hint)
    e.expr = this.parsed.source
    e.path = this.path
    return e
  }
}

function notConstant(name: string): boolean {
  return !Object.hasOwn(CONSTANTS, name)
}

/** Columns of `batch` restricted to `names` (those present). */
function pick(batch: EventBatch, names: Iterable<string>): EventBatch {
  const columns: EventBatch['columns'] = {}
  for (const n of names) if (batch.columns[n] !== undefined) columns[n] = batch.columns[n]
  return { length: batch.length, columns }
}

// ---------------------------------------------------------------- define

export interface PreparedDefine {
  op: 'hep.define'
  /** names defined, in order */
  outputs: string[]
  /** input columns read (not counting names defined earlier in the same op) */
  requiredColumns(): string[]
  /** checks all expressions against a column layout (throws ExprError with path) */
  check(schema: ColumnSchema): ColumnSchema
  run(batch: EventBatch): EventBatch
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.]*$/

export function prepareDefine(params: DefineParams): PreparedDefine {
  if (!isObj(params) || !isObj(params.variables)) {
    throw new HepError('hep.define needs params.variables: { name: expression, ... }', { path: ['variables'] })
  }
  const entries = Object.entries(params.variables).map(([name, src]) => {
    if (!NAME_RE.test(name)) {
      throw new HepError(
        `variable name '${name}' must start with a letter or _ and contain only letters, digits, _ and .`,
        {
          path: ['variables', name],
        },
      )
    }
    return { name, slot: new ExprSlot(src, ['variables', name]) }
  })
  const outputs = entries.map((e) => e.name)

  function check(schema: ColumnSchema): ColumnSchema {
    const s: ColumnSchema = { ...schema }
    for (const { name, slot } of entries) {
      const b = slot.bind(s)
      if (b.shape === 'strlit') throw slot.error(`'${name}' would be a constant string`)
      s[name] = b.shape === 'jagged' ? 'jagged' : b.shape === 'string' ? 'string' : 'flat'
    }
    return s
  }

  return {
    op: 'hep.define',
    outputs,
    requiredColumns() {
      const defined = new Set<string>()
      const need = new Set<string>()
      for (const { name, slot } of entries) {
        for (const v of slot.variables()) if (!defined.has(v) && notConstant(v)) need.add(v)
        defined.add(name)
      }
      return [...need]
    },
    check,
    run(batch) {
      const out: EventBatch = { length: batch.length, columns: { ...batch.columns } }
      const ctx = new EvalContext(out)
      const schema = schemaOf(out)
      for (const { name, slot } of entries) {
        const { bound, value } = slot.eval(ctx, schema)
        if (bound.shape === 'strlit') throw slot.error(`'${name}' would be a constant string`)
        out.columns[name] = valueToColumn(value, batch.length)
        schema[name] =
          value.k === 'jagged' ? 'jagged' : value.k === 'string' || value.k === 'strlit' ? 'string' : 'flat'
      }
      return out
    },
  }
}

export function define(batch: EventBatch, params: DefineParams): EventBatch {
  return prepareDefine(params).run(batch)
}

// ---------------------------------------------------------------- select

type SelNode =
  | { kind: 'cut'; name: string; slot: ExprSlot }
  | { kind: 'all' | 'any'; name: string; children: SelNode[]; path: Path }

function buildSelection(sel: unknown, path: Path): SelNode {
  if (typeof sel === 'string' || typeof sel === 'number' || typeof sel === 'boolean') {
    const slot = new ExprSlot(sel, path)
    return { kind: 'cut', name: slot.source, slot }
  }
  if (isObj(sel)) {
    const [k, ...more] = ['all', 'any', 'expr'].filter((k) => k in sel)
    if (k === undefined || more.length > 0) {
      throw new HepError(
        `a selection is an expression, { all: [...] }, { any: [...] } or { name, expr } at ${fmtPath(path)}`,
        { path },
      )
    }
    const name = sel.name
    if (name !== undefined && typeof name !== 'string')
      throw new HepError(`name must be a string at ${fmtPath([...path, 'name'])}`, { path: [...path, 'name'] })
    if (k === 'expr') {
      const slot = new ExprSlot(sel.expr, [...path, 'expr'])
      return { kind: 'cut', name: name ?? slot.source, slot }
    }
    const list = sel[k]
    if (!Array.isArray(list) || list.length === 0) {
      throw new HepError(`'${k}' needs a non-empty list at ${fmtPath([...path, k])}`, { path: [...path, k] })
    }
    const children = list.map((c, i) => buildSelection(c, [...path, k, i]))
    return { kind: k as 'all' | 'any', name: name ?? `${k} of ${children.length}`, children, path: [...path, k] }
  }
  throw new HepError(`a selection is an expression, { all: [...] } or { any: [...] } at ${fmtPath(path)}`, { path })
}

function selSlots(n: SelNode): ExprSlot[] {
  return n.kind === 'cut' ? [n.slot] : n.children.flatMap(selSlots)
}

export interface SelectResult {
  /** 1 for events passing the selection */
  mask: Uint8Array
  passed: number
  cutflow: Cutflow
}

export interface PreparedSelect {
  op: 'hep.select'
  requiredColumns(): string[]
  check(schema: ColumnSchema): void
  run(batch: EventBatch): SelectResult
  /** the cutflow of zero events (what an empty partition contributes) */
  emptyCutflow(): Cutflow
}

export function prepareSelect(params: SelectParams): PreparedSelect {
  if (!isObj(params) || params.selection === undefined) {
    throw new HepError('hep.select needs params.selection', { path: ['selection'] })
  }
  const root = buildSelection(params.selection, ['selection'])
  const weight = params.weight !== undefined ? new ExprSlot(params.weight, ['weight']) : undefined
  const slots = [...selSlots(root), ...(weight ? [weight] : [])]

  function checkCut(slot: ExprSlot, schema: ColumnSchema, key?: string): BoundExpr {
    const b = slot.bind(schema, key)
    if (b.shape === 'jagged') {
      throw slot.error(
        `a selection needs one value per event, but '${slot.source}' gives a list per event`,
        `reduce it: any(${slot.source}) or all(${slot.source})`,
      )
    }
    if (b.shape === 'string' || b.shape === 'strlit') throw slot.error(`a selection cannot be a string`)
    return b
  }
  function checkWeight(slot: ExprSlot, schema: ColumnSchema, key?: string): BoundExpr {
    const b = slot.bind(schema, key)
    if (b.shape !== 'flat' && b.shape !== 'scalar') throw slot.error(`the event weight must be one number per event`)
    return b
  }

  function run(batch: EventBatch): SelectResult {
    const n = batch.length
    const schema = schemaOf(batch)
    const key = schemaKey(schema)
    const ctx = new EvalContext(batch)
    let w: Float64Array | null = null
    let constW: number | null = null
    // a batch without events or columns (emptyCutflow): the structure only, nothing to evaluate
    const structural = n === 0 && Object.keys(batch.columns).length === 0
    if (weight && !structural) {
      checkWeight(weight, schema, key)
      const v = weight.eval(ctx, schema, key).value
      if (v.k === 'scalar') constW = v.v
      else if (v.k === 'flat') w = v.d
    }
    const rows: CutflowRow[] = []
    const and = (x: Uint8Array, y: Uint8Array): Uint8Array => {
      const o = new Uint8Array(n)
      for (let i = 0; i < n; i++) o[i] = x[i]! & y[i]!
      return o
    }

    // R(node): which events pass the node on its own (cuts are per-event predicates)
    const memo = new Map<SelNode, Uint8Array>()
    const R = (node: SelNode): Uint8Array => {
      const hit = memo.get(node)
      if (hit) return hit
      let m: Uint8Array
      if (structural) m = new Uint8Array(0)
      else if (node.kind === 'cut') {
        checkCut(node.slot, schema, key)
        const v = node.slot.eval(ctx, schema, key).value
        m = new Uint8Array(n)
        if (v.k === 'scalar') m.fill(v.v !== 0 && v.v === v.v ? 1 : 0)
        else if (v.k === 'flat') {
          const d = v.d
          for (let i = 0; i < n; i++) {
            const x = d[i]!
            m[i] = x !== 0 && x === x ? 1 : 0
          }
        }
      } else if (node.kind === 'all') {
        m = new Uint8Array(n).fill(1)
        for (const c of node.children) {
          const r = R(c)
          for (let i = 0; i < n; i++) m[i]! &= r[i]!
        }
      } else {
        m = new Uint8Array(n)
        for (const c of node.children) {
          const r = R(c)
          for (let i = 0; i < n; i++) m[i]! |= r[i]!
        }
      }
      memo.set(node, m)
      return m
    }

    const row = (node: SelNode | null, depth: number, input: Uint8Array, passed: Uint8Array, alone: Uint8Array) => {
      let ni = 0
      let np = 0
      let na = 0
      const acc = new ExactAccumulator(2)
      for (let i = 0; i < n; i++) {
        ni += input[i]!
        na += alone[i]!
        if (passed[i]) {
          np++
          const wi = w ? w[i]! : (constW ?? 1)
          acc.add(0, wi)
          acc.add(1, wi * wi)
        }
      }
      const sw = acc.exactString(0)
      const sw2 = acc.exactString(1)
      const r: CutflowRow = {
        name: node ? node.name : 'all events',
        kind: node ? node.kind : 'total',
        depth,
        input: ni,
        passed: np,
        passedAlone: na,
        sumw: exactToNumber(sw),
        sumw2: exactToNumber(sw2),
        exact: { sumw: sw, sumw2: sw2 },
      }
      if (node?.kind === 'cut') r.expr = node.slot.source
      rows.push(r)
    }

    // rows for the children of a composite node entered by `input`
    const children = (node: SelNode, input: Uint8Array, depth: number): void => {
      if (node.kind === 'cut') return
      let cur = input
      for (const c of node.children) {
        if (node.kind === 'all') {
          const alone = and(input, R(c))
          const reached = and(cur, R(c))
          row(c, depth, cur, reached, alone)
          children(c, cur, depth + 1)
          cur = reached
        } else {
          const passed = and(input, R(c))
          row(c, depth, input, passed, passed)
          children(c, input, depth + 1)
        }
      }
    }

    const all = new Uint8Array(n).fill(1)
    row(null, 0, all, all, all)
    if (root.kind === 'all') {
      // the top-level 'all' is the cutflow itself: its children are the rows at depth 1
      children(root, all, 1)
    } else {
      row(root, 1, all, R(root), R(root))
      children(root, all, 2)
    }
    const mask = R(root)
    let passed = 0
    for (let i = 0; i < n; i++) passed += mask[i]!
    const cutflow: Cutflow = { type: 'cutflow', version: 1, rows }
    if (weight) cutflow.weight = weight.source
    return { mask, passed, cutflow }
  }

  return {
    op: 'hep.select',
    requiredColumns() {
      return [...new Set(slots.flatMap((s) => s.variables()).filter(notConstant))]
    },
    check(schema) {
      for (const s of selSlots(root)) checkCut(s, schema)
      if (weight) checkWeight(weight, schema)
    },
    run,
    emptyCutflow() {
      return run({ length: 0, columns: {} }).cutflow
    },
  }
}

export function select(batch: EventBatch, params: SelectParams): SelectResult {
  return prepareSelect(params).run(batch)
}

// ---------------------------------------------------------------- hist

interface HistEntry {
  spec: HistSpec
  value: ExprSlot | { variable: string }
  weight?: ExprSlot
  path: Path
}

function num(x: unknown, path: Path, what: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x))
    throw new HepError(`${what} must be a finite number at ${fmtPath(path)}`, { path })
  return x
}

function normalizeHist(h: unknown, i: number, defaultWeight: unknown): HistEntry {
  const path: Path = ['histograms', i]
  if (!isObj(h)) throw new HepError(`histogram ${i} must be an object at ${fmtPath(path)}`, { path })
  if (typeof h.name !== 'string' || !h.name)
    throw new HepError(`histogram ${i} needs a name at ${fmtPath([...path, 'name'])}`, { path: [...path, 'name'] })
  const hasExpr = h.expr !== undefined
  const hasVar = h.variable !== undefined
  if (hasExpr === hasVar) {
    throw new HepError(`histogram '${h.name}' needs exactly one of expr or variable at ${fmtPath(path)}`, { path })
  }
  let value: HistEntry['value']
  let exprText: string
  if (hasVar) {
    if (typeof h.variable !== 'string' || !h.variable)
      throw new HepError(`variable must be a column name at ${fmtPath([...path, 'variable'])}`, {
        path: [...path, 'variable'],
      })
    value = { variable: h.variable }
    exprText = h.variable
  } else {
    const slot = new ExprSlot(h.expr, [...path, 'expr'])
    value = slot
    exprText = slot.source
  }
  const bpath = [...path, 'bins']
  let nbins: number
  let low: number
  let high: number
  if (Array.isArray(h.bins) && h.bins.length === 3) {
    nbins = num(h.bins[0], [...bpath, 0], 'nbins')
    low = num(h.bins[1], [...bpath, 1], 'low')
    high = num(h.bins[2], [...bpath, 2], 'high')
  } else if (isObj(h.bins)) {
    const nRaw = h.bins.nbins ?? h.bins.n
    nbins = num(nRaw, [...bpath, h.bins.nbins !== undefined ? 'nbins' : 'n'], 'bins.n')
    low = num(h.bins.low, [...bpath, 'low'], 'bins.low')
    high = num(h.bins.high, [...bpath, 'high'], 'bins.high')
  } else {
    throw new HepError(`histogram '${h.name}' needs bins: { n, low, high } at ${fmtPath(bpath)}`, { path: bpath })
  }
  if (!Number.isInteger(nbins) || nbins < 1 || nbins > 1_000_000) {
    throw new HepError(`bins.n must be an integer from 1 to 1000000 at ${fmtPath(bpath)}`, { path: bpath })
  }
  if (!(low < high)) throw new HepError(`bins.low must be below bins.high at ${fmtPath(bpath)}`, { path: bpath })
  const wSrc = h.weight !== undefined ? h.weight : defaultWeight
  const weight =
    wSrc !== undefined && wSrc !== null
      ? new ExprSlot(wSrc, h.weight !== undefined ? [...path, 'weight'] : ['weight'])
      : undefined
  const spec: HistSpec = { name: h.name, expr: exprText, nbins, low, high }
  if (weight) spec.weight = weight.source
  for (const k of ['title', 'xlabel', 'ylabel'] as const) {
    if (h[k] !== undefined) {
      if (typeof h[k] !== 'string')
        throw new HepError(`${k} must be a string at ${fmtPath([...path, k])}`, { path: [...path, k] })
      spec[k] = h[k] as string
    }
  }
  return { spec, value, weight, path }
}

export interface PreparedHist {
  op: 'hep.hist'
  specs: HistSpec[]
  requiredColumns(): string[]
  check(schema: ColumnSchema): void
  /** fills all histograms from the batch (only events with mask != 0 when a mask is given) */
  run(batch: EventBatch, opts?: { mask?: Uint8Array }): Hist1D[]
  /** the histograms of zero events */
  empty(): Hist1D[]
}

export function prepareHist(params: HistParams): PreparedHist {
  if (!isObj(params) || !Array.isArray(params.histograms) || params.histograms.length === 0) {
    throw new HepError('hep.hist needs params.histograms: a non-empty list', { path: ['histograms'] })
  }
  const entries = params.histograms.map((h, i) => normalizeHist(h, i, params.weight))
  const seen = new Set<string>()
  entries.forEach((e, i) => {
    if (seen.has(e.spec.name))
      throw new HepError(`duplicate histogram name '${e.spec.name}'`, { path: ['histograms', i, 'name'] })
    seen.add(e.spec.name)
  })

  const valueSlot = (e: HistEntry, schema: ColumnSchema): ExprSlot => {
    if (e.value instanceof ExprSlot) return e.value
    const name = e.value.variable
    if (!(name in schema)) {
      // reuse the expression machinery for the did-you-mean message
      const slot = new ExprSlot(`\`${name}\``, [...e.path, 'variable'])
      try {
        slot.bind(schema)
      } catch (err) {
        if (err instanceof ExprError) {
          const e2 = new ExprError(err.kind, err.message, 0, name.length, err.hint)
          e2.expr = name
          e2.path = [...e.path, 'variable']
          throw e2
        }
        throw err
      }
    }
    return new ExprSlot(`\`${name}\``, [...e.path, 'variable'])
  }
  const varSlots = new Map<HistEntry, ExprSlot>()
  const slotFor = (e: HistEntry, schema: ColumnSchema): ExprSlot => {
    if (e.value instanceof ExprSlot) return e.value
    let s = varSlots.get(e)
    if (!s || !(e.value.variable in schema)) {
      s = valueSlot(e, schema)
      varSlots.set(e, s)
    }
    return s
  }

  function checkEntry(e: HistEntry, schema: ColumnSchema, key?: string): void {
    const v = slotFor(e, schema).bind(schema, key)
    if (v.shape === 'string' || v.shape === 'strlit')
      throw slotFor(e, schema).error(`histogram '${e.spec.name}': cannot histogram strings`)
    if (e.weight) {
      const w = e.weight.bind(schema, key)
      if (w.shape === 'string' || w.shape === 'strlit') throw e.weight.error('a weight must be a number')
      if (w.shape === 'jagged' && v.shape !== 'jagged') {
        throw e.weight.error(
          `histogram '${e.spec.name}': the weight gives a list per event but the value '${e.spec.expr}' does not`,
        )
      }
    }
  }

  function run(batch: EventBatch, opts: { mask?: Uint8Array } = {}): Hist1D[] {
    let b = batch
    if (opts.mask) {
      const need = new Set<string>()
      for (const e of entries) {
        for (const v of e.value instanceof ExprSlot ? e.value.variables() : [e.value.variable]) need.add(v)
        for (const v of e.weight?.variables() ?? []) need.add(v)
      }
      b = filterBatch(pick(batch, need), opts.mask)
    }
    const schema = schemaOf(b)
    const key = schemaKey(schema)
    const ctx = new EvalContext(b)
    return entries.map((e) => {
      checkEntry(e, schema, key)
      const filler = new HistFiller(e.spec)
      const slot = slotFor(e, schema)
      const v = slot.eval(ctx, schema, key).value
      const values =
        v.k === 'scalar'
          ? new Float64Array(b.length).fill(v.v)
          : v.k === 'flat' || v.k === 'jagged'
            ? v.d
            : new Float64Array(0)
      if (!e.weight) {
        filler.fillUnweighted(values)
        return filler.finish()
      }
      const w = e.weight.eval(ctx, schema, key).value
      if (w.k === 'scalar') {
        filler.fillUnweighted(values, w.v)
      } else if (w.k === 'flat') {
        if (v.k === 'jagged') {
          const ew = new Float64Array(v.d.length)
          const off = v.off
          for (let i = 0; i < b.length; i++) for (let j = off[i]!; j < off[i + 1]!; j++) ew[j] = w.d[i]!
          filler.fillWeighted(values, ew)
        } else filler.fillWeighted(values, w.d)
      } else if (w.k === 'jagged' && v.k === 'jagged') {
        const a = v.off
        const c = w.off
        if (a !== c) {
          for (let i = 0; i <= b.length; i++) {
            if (a[i] !== c[i]) {
              throw e.weight.error(
                `histogram '${e.spec.name}': the weight lists and value lists differ in length (event ${Math.max(0, i - 1)})`,
              )
            }
          }
        }
        filler.fillWeighted(values, w.d)
      }
      return filler.finish()
    })
  }

  return {
    op: 'hep.hist',
    specs: entries.map((e) => e.spec),
    requiredColumns() {
      const need = new Set<string>()
      for (const e of entries) {
        for (const v of e.value instanceof ExprSlot ? e.value.variables() : [e.value.variable])
          if (notConstant(v) || !(e.value instanceof ExprSlot)) need.add(v)
        for (const v of e.weight?.variables() ?? []) if (notConstant(v)) need.add(v)
      }
      return [...need]
    },
    check(schema) {
      for (const e of entries) checkEntry(e, schema)
    },
    run,
    empty() {
      return entries.map((e) => new HistFiller(e.spec).finish())
    },
  }
}

export function hist(batch: EventBatch, params: HistParams, opts?: { mask?: Uint8Array }): Hist1D[] {
  return prepareHist(params).run(batch, opts)
}
