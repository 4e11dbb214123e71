/**
 * Columnar event data shared by the HEP library (readers, expression language, ops).
 *
 * A batch holds the events of one partition as columns:
 *  - flat column: one number per event, a typed array (`Float64Array`, `Float32Array`, `Int32Array`, ...)
 *  - jagged column: a variable-length list of numbers per event, `{ offsets, values }` where the
 *    elements of event `i` are `values[offsets[i] .. offsets[i+1])` (`offsets.length === length + 1`,
 *    `offsets[0] === 0`)
 *  - string column: one string per event (`string[]`); only `==` / `!=` against a string literal in expressions.
 *
 * Pure TypeScript, no I/O.
 */
import { editDistance as sharedEditDistance } from '../workflow/suggest.ts'

export type NumericArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array

export interface JaggedColumn {
  offsets: Int32Array | number[]
  values: Float64Array | NumericArray
}

export type Column = NumericArray | JaggedColumn | string[]

export type ColumnKind = 'flat' | 'jagged' | 'string'

export interface EventBatch {
  /** number of events */
  length: number
  columns: Record<string, Column>
}

/** Column name -> kind: what the expression checker needs to know about a batch. */
export type ColumnSchema = Record<string, ColumnKind>

/** A parameter error of a HEP op or reader; `path` locates the offending value inside the op params. */
export class HepError extends Error {
  readonly path?: (string | number)[]
  readonly hint?: string
  constructor(message: string, opts: { path?: (string | number)[]; hint?: string } = {}) {
    super(message)
    this.name = 'HepError'
    this.path = opts.path
    this.hint = opts.hint
  }
}

export function isJagged(c: Column | undefined): c is JaggedColumn {
  return !!c && typeof c === 'object' && !Array.isArray(c) && !ArrayBuffer.isView(c) && 'offsets' in c
}

export function isStringColumn(c: Column | undefined): c is string[] {
  return Array.isArray(c)
}

export function columnKind(c: Column): ColumnKind {
  if (isJagged(c)) return 'jagged'
  if (Array.isArray(c)) return 'string'
  return 'flat'
}

export function schemaOf(batch: EventBatch): ColumnSchema {
  const s: ColumnSchema = {}
  for (const [k, c] of Object.entries(batch.columns)) s[k] = columnKind(c)
  return s
}

/** Number of events in a column. */
export function columnLength(c: Column): number {
  return isJagged(c) ? c.offsets.length - 1 : c.length
}

/** Checks that every column has `batch.length` events and jagged offsets are well formed. Throws HepError. */
export function validateBatch(batch: EventBatch): void {
  for (const [name, c] of Object.entries(batch.columns)) {
    const n = columnLength(c)
    if (n !== batch.length) throw new HepError(`column '${name}' has ${n} events, expected ${batch.length}`)
    if (isJagged(c)) {
      const o = c.offsets
      if (o[0] !== 0) throw new HepError(`column '${name}': offsets must start at 0`)
      for (let i = 0; i < n; i++) {
        if (!(o[i + 1]! >= o[i]!)) throw new HepError(`column '${name}': offsets must not decrease (event ${i})`)
      }
      if (o[n] !== c.values.length) {
        throw new HepError(`column '${name}': last offset ${o[n]} differs from ${c.values.length} values`)
      }
    }
  }
}

/** Keeps the events whose mask entry is non-zero. */
export function filterBatch(batch: EventBatch, mask: Uint8Array): EventBatch {
  if (mask.length !== batch.length)
    throw new HepError(`mask has ${mask.length} entries, batch has ${batch.length} events`)
  let kept = 0
  for (let i = 0; i < mask.length; i++) if (mask[i]) kept++
  const columns: Record<string, Column> = {}
  for (const [name, c] of Object.entries(batch.columns)) columns[name] = filterColumn(c, mask, kept)
  return { length: kept, columns }
}

function filterColumn(c: Column, mask: Uint8Array, kept: number): Column {
  if (isJagged(c)) {
    const o = c.offsets
    let total = 0
    for (let i = 0; i < mask.length; i++) if (mask[i]) total += o[i + 1]! - o[i]!
    const offsets = new Int32Array(kept + 1)
    const Ctor = c.values.constructor as { new (n: number): NumericArray }
    const values = new Ctor(total)
    let j = 0
    let p = 0
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue
      const a = o[i]!
      const b = o[i + 1]!
      for (let k = a; k < b; k++) values[p++] = c.values[k]!
      offsets[++j] = p
    }
    return { offsets, values }
  }
  if (Array.isArray(c)) return c.filter((_, i) => mask[i] !== 0)
  const Ctor = c.constructor as { new (n: number): NumericArray }
  const out = new Ctor(kept)
  let j = 0
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[j++] = c[i]!
  return out
}

/** Events [start, stop) of a batch (copies). */
export function sliceBatch(batch: EventBatch, start: number, stop: number): EventBatch {
  start = Math.max(0, Math.min(batch.length, start))
  stop = Math.max(start, Math.min(batch.length, stop))
  const columns: Record<string, Column> = {}
  for (const [name, c] of Object.entries(batch.columns)) {
    if (isJagged(c)) {
      // start and stop are clamped to [0, length]: offsets has length + 1 entries
      const a = c.offsets[start]!
      const b = c.offsets[stop]!
      const offsets = new Int32Array(stop - start + 1)
      for (let i = start; i <= stop; i++) offsets[i - start] = c.offsets[i]! - a
      columns[name] = { offsets, values: c.values.slice(a, b) }
    } else {
      columns[name] = c.slice(start, stop)
    }
  }
  return { length: stop - start, columns }
}

/** Concatenates batches with the same columns (in order). */
export function concatBatches(batches: EventBatch[]): EventBatch {
  const [head] = batches
  if (!head) return { length: 0, columns: {} }
  const names = Object.keys(head.columns)
  const length = batches.reduce((s, b) => s + b.length, 0)
  const columns: Record<string, Column> = {}
  for (const name of names) {
    const columnOf = (b: EventBatch): Column => {
      const c = b.columns[name]
      if (c === undefined) throw new HepError(`column '${name}' missing from a batch`)
      return c
    }
    const first = columnOf(head)
    const parts = [first, ...batches.slice(1).map(columnOf)]
    if (isJagged(first)) {
      const offsets = new Int32Array(length + 1)
      const total = parts.reduce((s, p) => s + (p as JaggedColumn).values.length, 0)
      const Ctor = first.values.constructor as { new (n: number): NumericArray }
      const values = new Ctor(total)
      let e = 0
      let v = 0
      for (const p of parts as JaggedColumn[]) {
        const n = p.offsets.length - 1
        for (let i = 1; i <= n; i++) offsets[e + i] = p.offsets[i]! + v
        values.set(p.values, v)
        e += n
        v += p.values.length
      }
      columns[name] = { offsets, values }
    } else if (Array.isArray(first)) {
      columns[name] = ([] as string[]).concat(...(parts as string[][]))
    } else {
      const Ctor = first.constructor as { new (n: number): NumericArray }
      const out = new Ctor(length)
      let e = 0
      for (const p of parts as NumericArray[]) {
        out.set(p, e)
        e += p.length
      }
      columns[name] = out
    }
  }
  return { length, columns }
}

/** Edit distance (case-insensitive), for did-you-mean hints: the compiler's one (workflow/suggest.ts). */
export function editDistance(a: string, b: string): number {
  return sharedEditDistance(a.toLowerCase(), b.toLowerCase())
}

/** The closest candidate to `name`, or undefined when none is reasonably close. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  const lower = name.toLowerCase()
  for (const c of candidates) {
    const cl = c.toLowerCase()
    let d = editDistance(name, c)
    if (cl === lower) d = 0
    else if (lower.length >= 3 && (cl.includes(lower) || lower.includes(cl))) d = Math.min(d, 1.5)
    if (d < bestD || (d === bestD && best !== undefined && c < best)) {
      best = c
      bestD = d
    }
  }
  if (best === undefined) return undefined
  const limit = Math.max(2, Math.floor(name.length / 3))
  return bestD <= limit ? best : undefined
}
