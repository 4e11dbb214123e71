/**
 * Vectorised evaluator: every node is computed for all events of a batch at once, column by column
 * (Float64Array loops; no per-event interpretation, no eval / Function).
 *
 * Broadcasting: a single number combines with anything; a per-event value combines with a per-event
 * list by repeating it for every element of that event's list; two lists must have the same length in
 * every event (else an ExprError of kind 'runtime' pointing at the operation).
 */
import { ExprError } from './errors.ts'
import type { Bound, BoundExpr } from './bind.ts'
import type { BinaryOp } from './parser.ts'
import { isJagged, type Column, type EventBatch, type JaggedColumn } from '../types.ts'

export type Value =
  | { k: 'scalar'; v: number }
  | { k: 'strlit'; v: string }
  | { k: 'flat'; d: Float64Array }
  | { k: 'jagged'; off: Int32Array; d: Float64Array }
  | { k: 'string'; d: readonly string[] }

/** Evaluation state for one batch: converted input columns are cached and shared between expressions. */
export class EvalContext {
  readonly batch: EventBatch
  private readonly cache = new Map<string, Value>()
  private readonly offsetsCache = new Map<Int32Array | number[], Int32Array>()

  constructor(batch: EventBatch) {
    this.batch = batch
  }

  get length(): number {
    return this.batch.length
  }

  column(name: string, src: { start: number; end: number }, source: string): Value {
    const hit = this.cache.get(name)
    if (hit) return hit
    const c = this.batch.columns[name]
    if (c === undefined) {
      const e = new ExprError('runtime', `column '${name}' is missing from this batch`, src.start, src.end - src.start)
      e.expr = source
      throw e
    }
    const v = toValue(c, this.offsetsCache)
    this.cache.set(name, v)
    return v
  }
}

function toValue(c: Column, offsetsCache: Map<Int32Array | number[], Int32Array>): Value {
  if (isJagged(c)) {
    let off = offsetsCache.get(c.offsets)
    if (!off) {
      off = c.offsets instanceof Int32Array ? c.offsets : Int32Array.from(c.offsets)
      offsetsCache.set(c.offsets, off)
    }
    const d = c.values instanceof Float64Array ? c.values : Float64Array.from(c.values)
    return { k: 'jagged', off, d }
  }
  if (Array.isArray(c)) return { k: 'string', d: c }
  return { k: 'flat', d: c instanceof Float64Array ? c : Float64Array.from(c) }
}

const truthy = (x: number): boolean => x !== 0 && x === x

function sameStructure(a: Int32Array, b: Int32Array): number {
  if (a === b) return -1
  if (a.length !== b.length) return 0
  for (let i = 1; i < a.length; i++) if (a[i]! !== b[i]!) return i - 1
  return -1
}

/** Repeats per-event values for every element of each event's list. */
function expand(flat: Float64Array, off: Int32Array): Float64Array {
  const out = new Float64Array(off[off.length - 1]!)
  for (let e = 0; e + 1 < off.length; e++) {
    const v = flat[e]!
    for (let j = off[e]!; j < off[e + 1]!; j++) out[j] = v
  }
  return out
}

/** one X for each of the values T (a tuple stays a tuple: a binary operation gets two) */
type PerValue<T extends readonly Value[], X> = { -readonly [K in keyof T]: X }

type Aligned<T extends readonly Value[]> =
  | { shape: 'scalar'; scalars: PerValue<T, number> }
  | { shape: 'flat'; n: number; arrays: PerValue<T, Float64Array> }
  | { shape: 'jagged'; off: Int32Array; n: number; arrays: PerValue<T, Float64Array> }

/** Brings numeric values to one common shape (materialising scalars and expanding per-event values). */
function align<const T extends readonly Value[]>(
  vals: T,
  ctx: EvalContext,
  node: Bound,
  source: string,
  names: readonly string[],
): Aligned<T> {
  let off: Int32Array | undefined
  let offFrom = -1
  let anyFlat = false
  for (const [i, v] of vals.entries()) {
    if (v.k === 'jagged') {
      if (!off) {
        off = v.off
        offFrom = i
      } else {
        const bad = sameStructure(off, v.off)
        if (bad >= 0) {
          const c1 = (off[bad + 1] ?? 0) - (off[bad] ?? 0)
          const c2 = (v.off[bad + 1] ?? 0) - (v.off[bad] ?? 0)
          const e = new ExprError(
            'runtime',
            `lists of different lengths in event ${bad}: '${names[offFrom] ?? '?'}' has ${c1} element${c1 === 1 ? '' : 's'}, '${names[i] ?? '?'}' has ${c2}`,
            node.src.start,
            node.src.end - node.src.start,
            'combine lists of the same collection, or reduce one first (e.g. leading(x))',
          )
          e.expr = source
          throw e
        }
      }
    } else if (v.k === 'flat') anyFlat = true
  }
  if (off) {
    const common = off
    const n = common[common.length - 1] ?? 0
    const arrays = vals.map((v) => {
      if (v.k === 'jagged') return v.d
      if (v.k === 'flat') return expand(v.d, common)
      return new Float64Array(n).fill((v as { v: number }).v)
    })
    // map keeps one entry per value: the tuple type holds
    return { shape: 'jagged', off: common, n, arrays: arrays as PerValue<T, Float64Array> }
  }
  if (anyFlat) {
    const n = ctx.length
    const arrays = vals.map((v) => (v.k === 'flat' ? v.d : new Float64Array(n).fill((v as { v: number }).v)))
    return { shape: 'flat', n, arrays: arrays as PerValue<T, Float64Array> }
  }
  return { shape: 'scalar', scalars: vals.map((v) => (v as { v: number }).v) as PerValue<T, number> }
}

function wrap(a: Aligned<readonly Value[]>, d: Float64Array): Value {
  return a.shape === 'jagged' ? { k: 'jagged', off: a.off, d } : { k: 'flat', d }
}

function scalarBinary(op: BinaryOp, x: number, y: number): number {
  switch (op) {
    case '+':
      return x + y
    case '-':
      return x - y
    case '*':
      return x * y
    case '/':
      return x / y
    case '%':
      return x % y
    case '**':
      return x ** y
    case '<':
      return x < y ? 1 : 0
    case '<=':
      return x <= y ? 1 : 0
    case '>':
      return x > y ? 1 : 0
    case '>=':
      return x >= y ? 1 : 0
    case '==':
      return x === y ? 1 : 0
    case '!=':
      return x !== y ? 1 : 0
    case 'and':
      return truthy(x) && truthy(y) ? 1 : 0
    case 'or':
      return truthy(x) || truthy(y) ? 1 : 0
    default:
      return NaN
  }
}

function arrayBinary(op: BinaryOp, a: Float64Array, b: Float64Array, o: Float64Array): void {
  const n = o.length
  switch (op) {
    case '+':
      for (let i = 0; i < n; i++) o[i] = a[i]! + b[i]!
      return
    case '-':
      for (let i = 0; i < n; i++) o[i] = a[i]! - b[i]!
      return
    case '*':
      for (let i = 0; i < n; i++) o[i] = a[i]! * b[i]!
      return
    case '/':
      for (let i = 0; i < n; i++) o[i] = a[i]! / b[i]!
      return
    case '%':
      for (let i = 0; i < n; i++) o[i] = a[i]! % b[i]!
      return
    case '**':
      for (let i = 0; i < n; i++) {
        const y = b[i]!
        const x = a[i]!
        o[i] = y === 2 ? x * x : x ** y
      }
      return
    case '<':
      for (let i = 0; i < n; i++) o[i] = a[i]! < b[i]! ? 1 : 0
      return
    case '<=':
      for (let i = 0; i < n; i++) o[i] = a[i]! <= b[i]! ? 1 : 0
      return
    case '>':
      for (let i = 0; i < n; i++) o[i] = a[i]! > b[i]! ? 1 : 0
      return
    case '>=':
      for (let i = 0; i < n; i++) o[i] = a[i]! >= b[i]! ? 1 : 0
      return
    case '==':
      for (let i = 0; i < n; i++) o[i] = a[i]! === b[i]! ? 1 : 0
      return
    case '!=':
      for (let i = 0; i < n; i++) o[i] = a[i]! !== b[i]! ? 1 : 0
      return
    case 'and':
      for (let i = 0; i < n; i++) {
        const x = a[i]!
        const y = b[i]!
        o[i] = x !== 0 && x === x && y !== 0 && y === y ? 1 : 0
      }
      return
    case 'or':
      for (let i = 0; i < n; i++) {
        const x = a[i]!
        const y = b[i]!
        o[i] = (x !== 0 && x === x) || (y !== 0 && y === y) ? 1 : 0
      }
      return
    default:
      o.fill(NaN)
  }
}

const UNARY_MATH: Record<string, (x: number) => number> = {
  abs: Math.abs,
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  floor: Math.floor,
  ceil: Math.ceil,
  round: Math.round,
  sign: Math.sign,
  isnan: (x) => (x !== x ? 1 : 0),
}

function unaryLoop(name: string, a: Float64Array, o: Float64Array): void {
  const n = o.length
  switch (name) {
    case 'sqrt':
      for (let i = 0; i < n; i++) o[i] = Math.sqrt(a[i]!)
      return
    case 'abs':
      for (let i = 0; i < n; i++) o[i] = Math.abs(a[i]!)
      return
    case 'exp':
      for (let i = 0; i < n; i++) o[i] = Math.exp(a[i]!)
      return
    case 'log':
      for (let i = 0; i < n; i++) o[i] = Math.log(a[i]!)
      return
    case 'cos':
      for (let i = 0; i < n; i++) o[i] = Math.cos(a[i]!)
      return
    case 'sin':
      for (let i = 0; i < n; i++) o[i] = Math.sin(a[i]!)
      return
    default: {
      const f = unaryMath(name)
      for (let i = 0; i < n; i++) o[i] = f(a[i]!)
    }
  }
}

function unaryMath(name: string): (x: number) => number {
  const f = Object.hasOwn(UNARY_MATH, name) ? UNARY_MATH[name] : undefined
  if (!f) throw new ExprError('runtime', `unknown function '${name}'`, 0, 0)
  return f
}

/** The first k arguments of a function call (the binder checked the arity: this only proves it to the types). */
function args1<T>(name: string, xs: readonly T[]): [T] {
  const [a] = xs
  if (a === undefined) throw arityError(name)
  return [a]
}
function args2<T>(name: string, xs: readonly T[]): [T, T] {
  const [a, b] = xs
  if (a === undefined || b === undefined) throw arityError(name)
  return [a, b]
}
function args3<T>(name: string, xs: readonly T[]): [T, T, T] {
  const [a, b, c] = xs
  if (a === undefined || b === undefined || c === undefined) throw arityError(name)
  return [a, b, c]
}
const arityError = (name: string) => new ExprError('runtime', `too few arguments for ${name}()`, 0, 0)

function multiScalar(name: string, xs: number[]): number {
  switch (name) {
    case 'atan2':
      return Math.atan2(...args2(name, xs))
    case 'pow': {
      const [x, y] = args2(name, xs)
      return x ** y
    }
    case 'min':
      return Math.min(...xs)
    case 'max':
      return Math.max(...xs)
    case 'hypot':
      return Math.hypot(...xs)
    case 'where': {
      const [c, x, y] = args3(name, xs)
      return truthy(c) ? x : y
    }
    default:
      return unaryMath(name)(...args1(name, xs))
  }
}

function multiLoop(name: string, arr: Float64Array[], o: Float64Array): void {
  const n = o.length
  switch (name) {
    case 'atan2': {
      const [a, b] = args2(name, arr)
      for (let i = 0; i < n; i++) o[i] = Math.atan2(a[i]!, b[i]!)
      return
    }
    case 'pow': {
      const [a, b] = args2(name, arr)
      for (let i = 0; i < n; i++) o[i] = a[i]! ** b[i]!
      return
    }
    case 'where': {
      const [a, b, c] = args3(name, arr)
      for (let i = 0; i < n; i++) {
        const x = a[i]!
        o[i] = x !== 0 && x === x ? b[i]! : c[i]!
      }
      return
    }
    case 'min':
    case 'max':
    case 'hypot': {
      if (name === 'hypot') {
        // sqrt of the sum of squares, as Math.hypot (which also guards against overflow)
        for (let i = 0; i < n; i++) {
          let s = 0
          let inf = false
          let nan = false
          let m = 0
          for (const col of arr) {
            const x = Math.abs(col[i]!)
            if (x === Infinity) inf = true
            else if (x !== x) nan = true
            else if (x > m) m = x
          }
          if (inf) o[i] = Infinity
          else if (nan) o[i] = NaN
          else if (m === 0) o[i] = 0
          else {
            for (const col of arr) {
              const x = col[i]! / m
              s += x * x
            }
            o[i] = m * Math.sqrt(s)
          }
        }
        return
      }
      // column by column: a NaN in any argument makes the event's result NaN
      const isMin = name === 'min'
      const [first, ...rest] = arr
      if (!first) throw arityError(name)
      o.set(first)
      for (const col of rest)
        for (let i = 0; i < n; i++) {
          const x = col[i]!
          const r = o[i]!
          if (x !== x || r !== r) o[i] = NaN
          else if (isMin ? x < r : x > r) o[i] = x
        }
      return
    }
    default:
      unaryLoop(name, ...args1(name, arr), o)
  }
}

function reduce(name: string, v: { off: Int32Array; d: Float64Array }, nEvents: number): Float64Array {
  const { off, d } = v
  const o = new Float64Array(nEvents)
  switch (name) {
    case 'leading':
      for (let e = 0; e < nEvents; e++) o[e] = off[e + 1]! > off[e]! ? d[off[e]!]! : NaN
      break
    case 'subleading':
      for (let e = 0; e < nEvents; e++) o[e] = off[e + 1]! - off[e]! > 1 ? d[off[e]! + 1]! : NaN
      break
    case 'count':
    case 'len':
      for (let e = 0; e < nEvents; e++) o[e] = off[e + 1]! - off[e]!
      break
    case 'sum':
      for (let e = 0; e < nEvents; e++) {
        let s = 0
        for (let j = off[e]!; j < off[e + 1]!; j++) s += d[j]!
        o[e] = s
      }
      break
    case 'any':
      for (let e = 0; e < nEvents; e++) {
        let r = 0
        for (let j = off[e]!; j < off[e + 1]!; j++) {
          const x = d[j]!
          if (x !== 0 && x === x) {
            r = 1
            break
          }
        }
        o[e] = r
      }
      break
    case 'all':
      for (let e = 0; e < nEvents; e++) {
        let r = 1
        for (let j = off[e]!; j < off[e + 1]!; j++) {
          const x = d[j]!
          if (!(x !== 0 && x === x)) {
            r = 0
            break
          }
        }
        o[e] = r
      }
      break
    case 'maxof':
    case 'minof': {
      const isMax = name === 'maxof'
      for (let e = 0; e < nEvents; e++) {
        const a = off[e]!
        const b = off[e + 1]!
        if (a === b) {
          o[e] = NaN
          continue
        }
        let r = d[a]!
        for (let j = a + 1; j < b; j++) {
          const x = d[j]!
          if (x !== x || r !== r) {
            r = NaN
            break
          }
          if (isMax ? x > r : x < r) r = x
        }
        o[e] = r
      }
      break
    }
    default:
      o.fill(NaN)
  }
  return o
}

function evalNode(n: Bound, ctx: EvalContext, source: string): Value {
  switch (n.t) {
    case 'const':
      return { k: 'scalar', v: n.value }
    case 'strlit':
      return { k: 'strlit', v: n.value }
    case 'col':
      return ctx.column(n.name, n.src, source)
    case 'unary': {
      const a = evalNode(n.arg, ctx, source)
      if (a.k === 'scalar') {
        const x = a.v
        return { k: 'scalar', v: n.op === '-' ? -x : n.op === '+' ? x : truthy(x) ? 0 : 1 }
      }
      if (a.k !== 'flat' && a.k !== 'jagged') throw typeError(n, source)
      if (n.op === '+') return a
      const o = new Float64Array(a.d.length)
      const d = a.d
      if (n.op === '-') for (let i = 0; i < o.length; i++) o[i] = -d[i]!
      else
        for (let i = 0; i < o.length; i++) {
          const x = d[i]!
          o[i] = x !== 0 && x === x ? 0 : 1
        }
      return a.k === 'jagged' ? { k: 'jagged', off: a.off, d: o } : { k: 'flat', d: o }
    }
    case 'binary': {
      const l = evalNode(n.left, ctx, source)
      const r = evalNode(n.right, ctx, source)
      if (l.k === 'string' || l.k === 'strlit' || r.k === 'string' || r.k === 'strlit') {
        return stringCompare(n.op, l, r, ctx, n, source)
      }
      const al = align([l, r], ctx, n, source, [text(source, n.left), text(source, n.right)])
      if (al.shape === 'scalar') return { k: 'scalar', v: scalarBinary(n.op, ...al.scalars) }
      const o = new Float64Array(al.n)
      arrayBinary(n.op, al.arrays[0], al.arrays[1], o)
      return wrap(al, o)
    }
    case 'call': {
      const args = n.args.map((a) => evalNode(a, ctx, source))
      if (n.fn.cls === 'reducer') {
        const a = args[0]
        if (a?.k !== 'jagged') throw typeError(n, source)
        return { k: 'flat', d: reduce(n.fn.name, a, ctx.length) }
      }
      for (const a of args) if (a.k === 'string' || a.k === 'strlit') throw typeError(n, source)
      const al = align(
        args,
        ctx,
        n,
        source,
        n.args.map((a) => text(source, a)),
      )
      if (al.shape === 'scalar') return { k: 'scalar', v: multiScalar(n.fn.name, al.scalars) }
      const o = new Float64Array(al.n)
      const [only, ...more] = al.arrays
      if (only && more.length === 0) unaryLoop(n.fn.name, only, o)
      else multiLoop(n.fn.name, al.arrays, o)
      return wrap(al, o)
    }
    case 'index': {
      const t = evalNode(n.target, ctx, source)
      const ix = evalNode(n.index, ctx, source)
      if (t.k !== 'jagged') throw typeError(n, source)
      const nEv = ctx.length
      if (n.mode === 'mask') {
        if (ix.k !== 'jagged') throw typeError(n, source)
        const al = align([t, ix], ctx, n, source, [text(source, n.target), text(source, n.index)])
        if (al.shape !== 'jagged') throw typeError(n, source) // two lists align as lists
        const {
          off,
          arrays: [vals, m],
        } = al
        const newOff = new Int32Array(nEv + 1)
        let kept = 0
        for (let j = 0; j < m.length; j++) {
          const x = m[j]!
          if (x !== 0 && x === x) kept++
        }
        const out = new Float64Array(kept)
        let p = 0
        for (let e = 0; e < nEv; e++) {
          for (let j = off[e]!; j < off[e + 1]!; j++) {
            const x = m[j]!
            if (x !== 0 && x === x) out[p++] = vals[j]!
          }
          newOff[e + 1] = p
        }
        return { k: 'jagged', off: newOff, d: out }
      }
      const o = new Float64Array(nEv)
      const { off, d } = t
      const pick = (e: number, i: number): number => {
        if (!Number.isInteger(i)) return NaN
        const start = off[e]!
        const cnt = off[e + 1]! - start
        const j = i < 0 ? cnt + i : i
        return j >= 0 && j < cnt ? d[start + j]! : NaN
      }
      if (ix.k === 'scalar') for (let e = 0; e < nEv; e++) o[e] = pick(e, ix.v)
      else if (ix.k === 'flat') for (let e = 0; e < nEv; e++) o[e] = pick(e, ix.d[e]!)
      else throw typeError(n, source)
      return { k: 'flat', d: o }
    }
    default:
      throw new ExprError('runtime', 'unknown node', 0, 0)
  }
}

function text(source: string, n: Bound): string {
  return source.slice(n.src.start, n.src.end)
}

function typeError(n: Bound, source: string): ExprError {
  const e = new ExprError(
    'type',
    `unexpected value shape in '${text(source, n)}'`,
    n.src.start,
    n.src.end - n.src.start,
  )
  e.expr = source
  return e
}

function stringCompare(op: BinaryOp, l: Value, r: Value, ctx: EvalContext, n: Bound, source: string): Value {
  if (op !== '==' && op !== '!=') throw typeError(n, source)
  const eq = op === '=='
  const get = (v: Value): readonly string[] | string => {
    if (v.k === 'strlit') return v.v
    if (v.k === 'string') return v.d
    throw typeError(n, source)
  }
  const gl = get(l)
  const gr = get(r)
  if (typeof gl === 'string' && typeof gr === 'string') return { k: 'scalar', v: (gl === gr) === eq ? 1 : 0 }
  const o = new Float64Array(ctx.length)
  for (let i = 0; i < o.length; i++) {
    const a = typeof gl === 'string' ? gl : gl[i]
    const b = typeof gr === 'string' ? gr : gr[i]
    o[i] = (a === b) === eq ? 1 : 0
  }
  return { k: 'flat', d: o }
}

/** Evaluates a bound expression over a batch (or an EvalContext shared between expressions). */
export function evaluate(expr: BoundExpr, batchOrCtx: EventBatch | EvalContext): Value {
  const ctx = batchOrCtx instanceof EvalContext ? batchOrCtx : new EvalContext(batchOrCtx)
  return evalNode(expr.root, ctx, expr.source)
}

/** Converts a value to a batch column: scalars are repeated for every event. */
export function valueToColumn(v: Value, nEvents: number): Column {
  switch (v.k) {
    case 'scalar':
      return new Float64Array(nEvents).fill(v.v)
    case 'strlit':
      return new Array<string>(nEvents).fill(v.v)
    case 'flat':
      return v.d
    case 'jagged':
      return { offsets: v.off, values: v.d } satisfies JaggedColumn
    case 'string':
      return [...v.d]
  }
}

/** One number per event (a scalar is repeated); throws for lists and strings. */
export function valueToFlat(v: Value, nEvents: number): Float64Array {
  if (v.k === 'scalar') return new Float64Array(nEvents).fill(v.v)
  if (v.k === 'flat') return v.d
  throw new ExprError('type', 'expected one value per event', 0, 0)
}
