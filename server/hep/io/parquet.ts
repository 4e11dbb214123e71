/**
 * Columns to and from Parquet (hyparquet / hyparquet-writer).
 *
 * Layout: one Parquet column per batch column. Flat columns are REQUIRED DOUBLE / FLOAT / INT32 /
 * BOOLEAN; jagged columns are 3-level LISTs (`name.list.element`) of DOUBLE or FLOAT; string columns
 * are UTF8 strings. Reading accepts any flat numeric or list-of-numeric column (INT64 becomes a
 * double), a row range [start, stop) reads only the row groups it overlaps.
 */
import { open as fsOpen, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet'
import { parquetWriteBuffer } from 'hyparquet-writer'
import {
  HepError,
  didYouMean,
  isJagged,
  type Column,
  type ColumnKind,
  type EventBatch,
  type NumericArray,
} from '../types.ts'

export class ParquetIoError extends HepError {
  constructor(message: string, hint?: string) {
    super(message, { hint })
    this.name = 'ParquetIoError'
  }
}

export interface ParquetColumnInfo {
  name: string
  kind: ColumnKind | 'unsupported'
  /** Parquet physical type of the values (of the list elements for jagged) */
  type: string
}

export interface ReadParquetOptions {
  columns?: string[]
  start?: number
  stop?: number
}

export interface WriteParquetOptions {
  /** rows per row group (default 10000): row groups are the unit of partial reads */
  rowGroupSize?: number
  /** compression codec (default SNAPPY; hyparquet-writer ships snappy and UNCOMPRESSED) */
  codec?: 'SNAPPY' | 'UNCOMPRESSED'
  /** extra key/value metadata */
  metadata?: Record<string, string>
}

interface AsyncBuffer {
  byteLength: number
  slice(start: number, end?: number): Promise<ArrayBuffer> | ArrayBuffer
}

type Source = string | ArrayBuffer | Uint8Array

function clean(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e)
  const line = msg.split('\n', 1)[0] ?? ''
  return line.length > 300 ? `${line.slice(0, 300)}...` : line
}

const label = (src: Source) => (typeof src === 'string' ? basename(src) : '(buffer)')

async function withBuffer<T>(src: Source, f: (file: AsyncBuffer) => Promise<T>): Promise<T> {
  if (typeof src !== 'string') {
    const ab = src instanceof Uint8Array ? src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength) : src
    const file: AsyncBuffer = { byteLength: ab.byteLength, slice: (s, e) => (ab as ArrayBuffer).slice(s, e) }
    return f(file)
  }
  let handle
  try {
    handle = await fsOpen(src, 'r')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code
    throw new ParquetIoError(`cannot open ${src}: ${code === 'ENOENT' ? 'no such file' : clean(e)}`)
  }
  try {
    const size = (await handle.stat()).size
    const h = handle
    const file: AsyncBuffer = {
      byteLength: size,
      async slice(start: number, end?: number) {
        const stop = end ?? size
        const buf = Buffer.alloc(Math.max(0, stop - start))
        let done = 0
        while (done < buf.length) {
          const { bytesRead } = await h.read(buf, done, buf.length - done, start + done)
          if (bytesRead === 0) break
          done += bytesRead
        }
        return buf.buffer.slice(buf.byteOffset, buf.byteOffset + done)
      },
    }
    return await f(file)
  } finally {
    await handle.close().catch(() => undefined)
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
function describe(schemaTree: any): ParquetColumnInfo[] {
  // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
  return (schemaTree.children ?? []).map((c: any) => {
    const el = c.element
    const name = el.name as string
    if (!c.children?.length) {
      const t = el.type as string
      if (el.repetition_type === 'REPEATED') {
        return { name, kind: t === 'BYTE_ARRAY' ? 'unsupported' : 'jagged', type: t }
      }
      if (t === 'BYTE_ARRAY') return { name, kind: 'string', type: t }
      if (t === 'FIXED_LEN_BYTE_ARRAY' || t === 'INT96') return { name, kind: 'unsupported', type: t }
      return { name, kind: 'flat', type: t }
    }
    // LIST: name (LIST) -> list (REPEATED) -> element
    const isList = el.converted_type === 'LIST' || el.logical_type?.type === 'LIST'
    const rep = c.children[0]
    const leaf = rep?.children?.[0] ?? rep
    if (isList && leaf && !leaf.children?.length && leaf.element.type !== 'BYTE_ARRAY') {
      return { name, kind: 'jagged', type: leaf.element.type }
    }
    return { name, kind: 'unsupported', type: el.converted_type ?? 'group' }
  })
}

export async function listParquetColumns(src: Source): Promise<ParquetColumnInfo[]> {
  return withBuffer(src, async (file) => {
    try {
      // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
      const md = await parquetMetadataAsync(file as any)
      return describe(parquetSchema(md))
    } catch (e) {
      throw new ParquetIoError(`cannot read ${label(src)}: ${clean(e)}`, 'is it a Parquet file?')
    }
  })
}

export async function parquetRowCount(src: Source): Promise<number> {
  return withBuffer(src, async (file) => {
    try {
      // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
      return Number((await parquetMetadataAsync(file as any)).num_rows)
    } catch (e) {
      throw new ParquetIoError(`cannot read ${label(src)}: ${clean(e)}`, 'is it a Parquet file?')
    }
  })
}

function toNum(x: unknown): number {
  if (typeof x === 'number') return x
  if (typeof x === 'bigint') return Number(x)
  if (typeof x === 'boolean') return x ? 1 : 0
  return NaN // null (missing)
}

/** Reads columns (all supported ones by default) for rows [start, stop). */
export async function readParquetColumns(src: Source, opts: ReadParquetOptions = {}): Promise<EventBatch> {
  return withBuffer(src, async (file) => {
    // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
    let md: any
    try {
      // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
      md = await parquetMetadataAsync(file as any)
    } catch (e) {
      throw new ParquetIoError(`cannot read ${label(src)}: ${clean(e)}`, 'is it a Parquet file?')
    }
    const infos = describe(parquetSchema(md))
    const byName = new Map(infos.map((i) => [i.name, i]))
    const names = opts.columns ?? infos.filter((i) => i.kind !== 'unsupported').map((i) => i.name)
    for (const n of names) {
      const info = byName.get(n)
      if (!info) {
        const guess = didYouMean(n, byName.keys())
        throw new ParquetIoError(
          `column '${n}' not found in ${label(src)}${guess ? `; did you mean '${guess}'?` : ''}`,
          guess ? `did you mean '${guess}'?` : undefined,
        )
      }
      if (info.kind === 'unsupported')
        throw new ParquetIoError(`column '${n}' of ${label(src)} has an unsupported type (${info.type})`)
    }
    const rows = Number(md.num_rows)
    const start = Math.max(0, Math.min(rows, Math.floor(opts.start ?? 0)))
    const stop = Math.max(start, Math.min(rows, Math.floor(opts.stop ?? rows)))
    const n = stop - start
    // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
    const parts = new Map<string, { rowStart: number; data: ArrayLike<any> }[]>()
    for (const nm of names) parts.set(nm, [])
    if (n > 0 && names.length > 0) {
      try {
        await parquetRead({
          // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
          file: file as any,
          metadata: md,
          columns: names,
          rowStart: start,
          rowEnd: stop,
          // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
          onChunk: (c: any) => parts.get(c.columnName)?.push({ rowStart: c.rowStart, data: c.columnData }),
        })
      } catch (e) {
        throw new ParquetIoError(`cannot read ${label(src)}: ${clean(e)}`)
      }
    }
    const columns: Record<string, Column> = {}
    for (const nm of names) {
      const info = byName.get(nm)!
      // per row in [start, stop): the chunk value
      // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
      const rowsOf = new Array<any>(n)
      let filled = 0
      for (const p of parts.get(nm)!) {
        for (let i = 0; i < p.data.length; i++) {
          const r = p.rowStart + i - start
          if (r >= 0 && r < n && rowsOf[r] === undefined) {
            rowsOf[r] = p.data[i]
            filled++
          }
        }
      }
      if (filled !== n && n > 0) {
        // null values leave holes too; only complain when nothing was read at all
        if (filled === 0)
          throw new ParquetIoError(`column '${nm}' of ${label(src)}: no data read for rows [${start}, ${stop})`)
      }
      columns[nm] = assemble(info, rowsOf, n)
    }
    return { length: n, columns }
  })
}

// biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
function assemble(info: ParquetColumnInfo, rows: any[], n: number): Column {
  if (info.kind === 'string') return rows.map((x) => (x === null || x === undefined ? '' : String(x)))
  if (info.kind === 'jagged') {
    const offsets = new Int32Array(n + 1)
    let total = 0
    for (let i = 0; i < n; i++) {
      total += rows[i]?.length ?? 0
      offsets[i + 1] = total
    }
    const values = new Float64Array(total)
    let p = 0
    for (let i = 0; i < n; i++) {
      const r = rows[i]
      if (r) for (let j = 0; j < r.length; j++) values[p++] = toNum(r[j])
    }
    return { offsets, values }
  }
  let out: NumericArray
  switch (info.type) {
    case 'FLOAT':
      out = new Float32Array(n)
      break
    case 'INT32':
      out = new Int32Array(n)
      break
    case 'BOOLEAN':
      out = new Uint8Array(n)
      break
    default:
      out = new Float64Array(n)
  }
  for (let i = 0; i < n; i++) out[i] = toNum(rows[i])
  return out
}

function elementType(v: ArrayLike<number>): 'DOUBLE' | 'FLOAT' | 'INT32' | 'BOOLEAN' {
  if (v instanceof Float32Array) return 'FLOAT'
  if (v instanceof Int32Array || v instanceof Int16Array || v instanceof Int8Array || v instanceof Uint16Array)
    return 'INT32'
  if (v instanceof Uint8Array) return 'INT32'
  return 'DOUBLE'
}

/** Encodes a batch as a Parquet file in memory. */
export function batchToParquet(batch: EventBatch, opts: WriteParquetOptions = {}): ArrayBuffer {
  const names = Object.keys(batch.columns)
  if (names.length === 0) throw new ParquetIoError('cannot write a Parquet file without columns')
  // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
  const schema: any[] = [{ name: 'root', num_children: names.length }]
  // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
  const columnData: any[] = []
  for (const [name, c] of Object.entries(batch.columns)) {
    if (isJagged(c)) {
      const t = c.values instanceof Float32Array ? 'FLOAT' : 'DOUBLE'
      schema.push(
        { name, repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: t, repetition_type: 'REQUIRED' },
      )
      const rows = new Array<number[]>(batch.length)
      for (let i = 0; i < batch.length; i++) {
        // the batch was validated: offsets has length + 1 entries, values the last offset
        const a = c.offsets[i]!
        const b = c.offsets[i + 1]!
        const r = new Array<number>(b - a)
        for (let j = a; j < b; j++) r[j - a] = c.values[j]!
        rows[i] = r
      }
      columnData.push({ name, data: rows })
    } else if (Array.isArray(c)) {
      schema.push({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' })
      columnData.push({ name, data: c })
    } else {
      const t = elementType(c)
      if (c instanceof Uint32Array) {
        schema.push({ name, type: 'DOUBLE', repetition_type: 'REQUIRED' })
        columnData.push({ name, data: Float64Array.from(c) })
      } else if (t === 'INT32' && !(c instanceof Int32Array)) {
        schema.push({ name, type: 'INT32', repetition_type: 'REQUIRED' })
        columnData.push({ name, data: Int32Array.from(c) })
      } else {
        schema.push({ name, type: t, repetition_type: 'REQUIRED' })
        columnData.push({ name, data: c })
      }
    }
  }
  try {
    return parquetWriteBuffer({
      columnData,
      schema,
      rowGroupSize: opts.rowGroupSize ?? 10_000,
      codec: opts.codec ?? 'SNAPPY',
      kvMetadata: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
    } as any)
  } catch (e) {
    throw new ParquetIoError(`cannot encode Parquet: ${clean(e)}`)
  }
}

/** Writes a batch to a Parquet file. */
export async function writeParquetColumns(
  path: string,
  batch: EventBatch,
  opts: WriteParquetOptions = {},
): Promise<void> {
  const buf = batchToParquet(batch, opts)
  try {
    await writeFile(path, new Uint8Array(buf))
  } catch (e) {
    throw new ParquetIoError(`cannot write ${path}: ${clean(e)}`)
  }
}
