/**
 * Format-independent event reading: ROOT TTrees (jsroot) and Parquet files (hyparquet), chosen by
 * file extension (.root; .parquet / .pq).
 */
import { extname, basename } from 'node:path'
import { HepError, type ColumnKind, type EventBatch } from '../types.ts'
import { listRootBranches, listRootTrees, readRootColumns, rootEntryCount, RootIoError } from './root.ts'
import { listParquetColumns, parquetRowCount, readParquetColumns, ParquetIoError } from './parquet.ts'

export * from './root.ts'
export * from './parquet.ts'

export type FileFormat = 'root' | 'parquet'

export function fileFormat(path: string): FileFormat {
  const ext = extname(path).toLowerCase()
  if (ext === '.root') return 'root'
  if (ext === '.parquet' || ext === '.pq') return 'parquet'
  throw new HepError(`cannot tell the format of ${basename(path)}: expected a .root or .parquet file`)
}

/** The tree to read when none is named: the only tree of the file, else 'events' if present. */
export async function defaultTreeName(path: string): Promise<string> {
  const trees = await listRootTrees(path)
  const [only, ...others] = trees
  if (only && others.length === 0) return only.name
  if (trees.some((t) => t.name === 'events')) return 'events'
  if (trees.length === 0) throw new RootIoError(`no tree in ${basename(path)}`)
  throw new RootIoError(
    `${basename(path)} has several trees (${trees.map((t) => t.name).join(', ')}): name one with treeName`,
  )
}

export async function countEvents(path: string, treeName?: string): Promise<number> {
  if (fileFormat(path) === 'parquet') return parquetRowCount(path)
  return rootEntryCount(path, treeName ?? (await defaultTreeName(path)))
}

export async function listEventColumns(
  path: string,
  treeName?: string,
): Promise<{ name: string; kind: ColumnKind | 'unsupported'; type: string }[]> {
  if (fileFormat(path) === 'parquet') return listParquetColumns(path)
  const bs = await listRootBranches(path, treeName ?? (await defaultTreeName(path)))
  return bs.map((b) => ({ name: b.name, kind: b.kind, type: b.type }))
}

export interface ReadEventsOptions {
  treeName?: string
  /** columns / branches (all supported ones when omitted) */
  columns?: string[]
  start?: number
  stop?: number
}

/** Reads events [start, stop) of a ROOT or Parquet file. */
export async function readEvents(path: string, opts: ReadEventsOptions = {}): Promise<EventBatch> {
  if (fileFormat(path) === 'parquet') {
    return readParquetColumns(path, { columns: opts.columns, start: opts.start, stop: opts.stop })
  }
  const tree = opts.treeName ?? (await defaultTreeName(path))
  return readRootColumns(path, { tree, branches: opts.columns, start: opts.start, stop: opts.stop })
}

export { RootIoError, ParquetIoError }
