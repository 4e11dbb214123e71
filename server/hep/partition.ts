/**
 * Datasets -> partitions: every file (paths or globs) is split into event ranges of `chunkSize`
 * entries; a dataset's `nevents` caps the events taken (files in order, the last one cut short).
 *
 *   const plan = await planPartitions([{ name: 'zmumu', files: ['data/*.root'], treeName: 'events' }], { chunkSize: 1000 })
 *   plan.partitions -> [{ dataset, file, treeName, start, stop, index, format }, ...]
 */
import { readdir, stat } from 'node:fs/promises'
import { isAbsolute, join, resolve, sep } from 'node:path'
import { HepError } from './types.ts'
import { countEvents, defaultTreeName, fileFormat, type FileFormat } from './io/index.ts'

export interface DatasetInput {
  name: string
  /** file paths or glob patterns (`*`, `?`, `[abc]`, `{a,b}`, `**`), relative to baseDir */
  files: string[]
  /** at most this many events (all when omitted) */
  nevents?: number
  /** ROOT tree (default: the only tree, else 'events'); ignored for Parquet */
  treeName?: string
  eventtype?: string
  metadata?: Record<string, unknown>
}

export interface Partition {
  dataset: string
  /** absolute path */
  file: string
  /** null for Parquet files */
  treeName: string | null
  format: FileFormat
  start: number
  stop: number
  /** index of the partition within its dataset */
  index: number
}

export interface PlannedDataset {
  name: string
  files: { path: string; entries: number; used: number }[]
  /** events that the partitions cover */
  events: number
  partitions: number
}

export interface PartitionPlan {
  partitions: Partition[]
  datasets: PlannedDataset[]
}

export interface PlanOptions {
  /** events per partition (default: one partition per file) */
  chunkSize?: number
  /** where relative paths and globs are resolved (default: process.cwd()) */
  baseDir?: string
  /** entry counting (default: reads the file headers); for tests and caching */
  countEntries?: (file: string, treeName: string | null) => Promise<number>
}

/** Splits [0, entries) into ranges of at most chunkSize. */
export function splitRange(entries: number, chunkSize?: number): [number, number][] {
  if (!(entries > 0)) return []
  const size = chunkSize && chunkSize > 0 ? Math.floor(chunkSize) : entries
  if (size < 1) throw new HepError('chunkSize must be at least 1')
  const out: [number, number][] = []
  for (let s = 0; s < entries; s += size) out.push([s, Math.min(entries, s + size)])
  return out
}

/** Splits [0, entries) into `n` ranges as equal as possible (the first ones one longer). */
export function splitEvenly(entries: number, n: number): [number, number][] {
  if (!(n >= 1)) throw new HepError('the number of partitions must be at least 1')
  const out: [number, number][] = []
  const base = Math.floor(entries / n)
  const extra = entries % n
  let s = 0
  for (let i = 0; i < n; i++) {
    const len = base + (i < extra ? 1 : 0)
    if (len > 0) out.push([s, s + len])
    s += len
  }
  return out
}

// ---------------------------------------------------------------- globs

export function hasGlob(p: string): boolean {
  return /[*?[{]/.test(p)
}

function expandBraces(p: string): string[] {
  const m = /\{([^{}]*)\}/.exec(p)
  if (!m) return [p]
  const [braces, inner = ''] = m
  const out: string[] = []
  for (const alt of inner.split(','))
    out.push(...expandBraces(p.slice(0, m.index) + alt + p.slice(m.index + braces.length)))
  return out
}

function segmentRegex(seg: string): RegExp {
  let re = ''
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charAt(i)
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const close = seg.indexOf(']', i + 1)
      if (close < 0) re += '\\['
      else {
        let cls = seg.slice(i + 1, close)
        if (cls.startsWith('!')) cls = `^${cls.slice(1)}`
        re += `[${cls.replace(/\\/g, '\\\\')}]`
        i = close
      }
    } else re += c.replace(/[.+^$()|\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory()
  } catch {
    return false
  }
}

async function walkGlob(base: string, segs: string[], out: Set<string>): Promise<void> {
  const [seg, ...rest] = segs
  if (seg === undefined) {
    try {
      if ((await stat(base)).isFile()) out.add(base)
    } catch {
      // vanished
    }
    return
  }
  if (seg === '**') {
    await walkGlob(base, rest, out)
    let entries: string[] = []
    try {
      entries = (await readdir(base, { withFileTypes: true }))
        .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
        .map((d) => d.name)
    } catch {
      return
    }
    for (const d of entries) await walkGlob(join(base, d), segs, out)
    return
  }
  if (!hasGlob(seg)) {
    const next = join(base, seg)
    if (rest.length === 0 || (await isDir(next))) await walkGlob(next, rest, out)
    return
  }
  const re = segmentRegex(seg)
  let names: string[] = []
  try {
    names = await readdir(base)
  } catch {
    return
  }
  for (const name of names.sort()) {
    if (name.startsWith('.') && !seg.startsWith('.')) continue
    if (re.test(name)) await walkGlob(join(base, name), rest, out)
  }
}

/** Expands paths and globs to existing files (sorted within each pattern, duplicates removed). */
export async function expandFiles(patterns: string[], baseDir = process.cwd()): Promise<string[]> {
  const out: string[] = []
  const seen = new Set<string>()
  for (const pattern of patterns) {
    if (typeof pattern !== 'string' || !pattern) throw new HepError('a file pattern must be a non-empty string')
    const found = new Set<string>()
    for (const p of expandBraces(pattern)) {
      const abs = isAbsolute(p) ? p : resolve(baseDir, p)
      if (!hasGlob(p)) {
        try {
          if ((await stat(abs)).isFile()) found.add(abs)
        } catch {
          // reported below
        }
        continue
      }
      const root = abs.startsWith(sep) ? sep : ''
      const segs = abs.split(sep).filter(Boolean)
      // start the walk at the longest literal prefix
      let i = 0
      while (i < segs.length - 1 && !hasGlob(segs[i] ?? '*')) i++
      await walkGlob(root + segs.slice(0, i).join(sep), segs.slice(i), found)
    }
    if (found.size === 0) {
      throw new HepError(hasGlob(pattern) ? `no files match '${pattern}'` : `file not found: ${pattern}`)
    }
    for (const f of [...found].sort()) {
      if (!seen.has(f)) {
        seen.add(f)
        out.push(f)
      }
    }
  }
  return out
}

// ---------------------------------------------------------------- planning

/** Expands the datasets' files, counts entries and splits them into partitions. */
export async function planPartitions(datasets: DatasetInput[], opts: PlanOptions = {}): Promise<PartitionPlan> {
  if (opts.chunkSize !== undefined && !(Number.isInteger(opts.chunkSize) && opts.chunkSize >= 1)) {
    throw new HepError('chunkSize must be a positive integer (events per partition)')
  }
  const names = new Set<string>()
  const partitions: Partition[] = []
  const planned: PlannedDataset[] = []
  for (const ds of datasets) {
    if (!ds || typeof ds.name !== 'string' || !ds.name) throw new HepError('every dataset needs a name')
    if (names.has(ds.name)) throw new HepError(`duplicate dataset name '${ds.name}'`)
    names.add(ds.name)
    if (!Array.isArray(ds.files) || ds.files.length === 0) throw new HepError(`dataset '${ds.name}' has no files`)
    if (ds.nevents !== undefined && !(Number.isInteger(ds.nevents) && ds.nevents >= 0)) {
      throw new HepError(`dataset '${ds.name}': nevents must be a non-negative integer`)
    }
    const files = await expandFiles(ds.files, opts.baseDir)
    let remaining = ds.nevents ?? Infinity
    let index = 0
    const pds: PlannedDataset = { name: ds.name, files: [], events: 0, partitions: 0 }
    for (const file of files) {
      const format = fileFormat(file)
      const treeName = format === 'root' ? (ds.treeName ?? (await defaultTreeName(file))) : null
      const entries = opts.countEntries
        ? await opts.countEntries(file, treeName)
        : await countEvents(file, treeName ?? undefined)
      const used = Math.min(entries, remaining)
      pds.files.push({ path: file, entries, used })
      for (const [start, stop] of splitRange(used, opts.chunkSize)) {
        partitions.push({ dataset: ds.name, file, treeName, format, start, stop, index: index++ })
      }
      pds.events += used
      remaining -= used
      if (remaining <= 0) break
    }
    pds.partitions = index
    planned.push(pds)
  }
  return { partitions, datasets: planned }
}
