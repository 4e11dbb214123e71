/**
 * Reads TTrees from ROOT files into columns with jsroot (Node; zlib, lz4, lzma and zstd baskets).
 *
 *   listRootTrees(path)                       -> [{ name, entries, title }]
 *   listRootBranches(path, tree)              -> [{ name, kind, type, counter?, title }]
 *   rootEntryCount(path, tree)                -> number
 *   readRootColumns(path, { tree, branches, start, stop }) -> EventBatch of entries [start, stop)
 *
 * Branch kinds: flat (one number per entry), jagged (counted arrays `x[n]`, fixed arrays `x[3]`,
 * std::vector of numbers), string (TLeafC / std::string). 64-bit integers become doubles.
 * jsroot errors never escape as they are: they are rethrown as RootIoError with a clean message.
 */
import { open as fsOpen, stat, type FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import { FileProxy, openFile } from 'jsroot/io'
import { TSelector, treeProcess } from 'jsroot/tree'
import { HepError, didYouMean, isJagged, type Column, type EventBatch, type NumericArray } from '../types.ts'

export class RootIoError extends HepError {
  constructor(message: string, hint?: string) {
    super(message, { hint })
    this.name = 'RootIoError'
  }
}

export type RootBranchKind = 'flat' | 'jagged' | 'string' | 'unsupported'

export interface RootBranchInfo {
  name: string
  kind: RootBranchKind
  /** C++ type of the values, e.g. 'Float_t', 'Int_t', 'vector<float>' */
  type: string
  /** the counter branch of a counted array (e.g. 'NMuon' for Muon_Px[NMuon]) */
  counter?: string
  /** fixed array length (x[3]) */
  fixedLength?: number
  title: string
}

export interface RootTreeInfo {
  /** path of the tree inside the file (directories joined with '/') */
  name: string
  entries: number
  title: string
  className: string
}

export interface ReadRootOptions {
  tree: string
  /** branches to read (all readable ones when omitted) */
  branches?: string[]
  /** first entry (default 0) */
  start?: number
  /** one past the last entry (default: all) */
  stop?: number
}

// jsroot's FileProxy over a Node file handle that we close ourselves (jsroot's own Node file keeps
// its descriptor open forever and prints to the console on errors).
class NodeFileProxy extends (FileProxy as unknown as { new (): object }) {
  private handle: FileHandle | null = null
  private size = 0
  constructor(private readonly path: string) {
    super()
  }
  async openFile(): Promise<boolean> {
    this.handle = await fsOpen(this.path, 'r')
    this.size = (await this.handle.stat()).size
    return true
  }
  getFileName(): string {
    return this.path
  }
  getFileSize(): number {
    return this.size
  }
  async readBuffer(pos: number, len: number): Promise<DataView> {
    if (!this.handle) throw new Error('file is closed')
    if (pos < 0 || len < 0 || pos + len > this.size)
      throw new Error(`read of ${len} bytes at ${pos} is outside the file (${this.size} bytes)`)
    const buf = Buffer.allocUnsafe(len)
    let done = 0
    while (done < len) {
      const { bytesRead } = await this.handle.read(buf, done, len - done, pos + done)
      if (bytesRead === 0) throw new Error(`unexpected end of file at ${pos + done}`)
      done += bytesRead
    }
    return new DataView(buf.buffer, buf.byteOffset, len)
  }
  closeFile(): void {
    const h = this.handle
    this.handle = null
    if (h) h.close().catch(() => undefined)
  }
}

// jsroot objects are untyped
// biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
type JsrootFile = any
// biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
type JsrootTree = any

function clean(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e)
  // never pass on huge messages (minified source) or stacks
  const line = msg.split('\n', 1)[0] ?? ''
  return line.length > 300 ? `${line.slice(0, 300)}...` : line
}

async function withFile<T>(path: string, f: (file: JsrootFile) => Promise<T>): Promise<T> {
  const proxy = new NodeFileProxy(path)
  let file: JsrootFile
  try {
    file = await openFile(proxy)
    if (!file) throw new Error('not a ROOT file')
  } catch (e) {
    proxy.closeFile()
    const code = (e as NodeJS.ErrnoException)?.code
    if (code === 'ENOENT') throw new RootIoError(`cannot open ${path}: no such file`)
    if (code === 'EACCES') throw new RootIoError(`cannot open ${path}: permission denied`)
    if (code === 'EISDIR') throw new RootIoError(`cannot open ${path}: it is a directory`)
    throw new RootIoError(`cannot open ${path}: ${clean(e)}`, 'is it a ROOT file?')
  }
  try {
    return await f(file)
  } finally {
    try {
      if (typeof file.delete === 'function') file.delete()
      else proxy.closeFile()
    } catch {
      proxy.closeFile()
    }
  }
}

const TREE_CLASSES = new Set(['TTree', 'TNtuple', 'TNtupleD', 'TChain'])
const DIR_CLASSES = new Set(['TDirectory', 'TDirectoryFile'])

async function collectTrees(file: JsrootFile, path: string): Promise<RootTreeInfo[]> {
  const out: RootTreeInfo[] = []
  const seen = new Set<string>()
  // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
  const walk = async (keys: any[], prefix: string, depth: number) => {
    for (const k of keys ?? []) {
      const full = prefix ? `${prefix}/${k.fName}` : k.fName
      if (TREE_CLASSES.has(k.fClassName)) {
        if (seen.has(full)) continue // highest cycle first in the key list
        seen.add(full)
        let entries = 0
        try {
          const t = await file.readObject(full)
          entries = Number(t?.fEntries ?? 0)
        } catch (e) {
          throw new RootIoError(`cannot read tree '${full}' in ${path}: ${clean(e)}`)
        }
        out.push({ name: full, entries, title: k.fTitle ?? '', className: k.fClassName })
      } else if (DIR_CLASSES.has(k.fClassName) && depth < 4) {
        try {
          const dir = await file.readDirectory(full)
          await walk(dir?.fKeys, full, depth + 1)
        } catch {
          // unreadable directory: skip it
        }
      }
    }
  }
  await walk(file.fKeys, '', 0)
  return out
}

export async function listRootTrees(path: string): Promise<RootTreeInfo[]> {
  return withFile(path, (file) => collectTrees(file, path))
}

/** Paths of the trees in a file, from the keys only (no tree is read). */
async function treeNames(file: JsrootFile): Promise<string[]> {
  const out: string[] = []
  // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
  const walk = async (keys: any[], prefix: string, depth: number) => {
    for (const k of keys ?? []) {
      const full = prefix ? `${prefix}/${k.fName}` : k.fName
      if (TREE_CLASSES.has(k.fClassName)) {
        if (!out.includes(full)) out.push(full)
      } else if (DIR_CLASSES.has(k.fClassName) && depth < 4) {
        try {
          const dir = await file.readDirectory(full)
          await walk(dir?.fKeys, full, depth + 1)
        } catch {
          // unreadable directory: skip it
        }
      }
    }
  }
  await walk(file.fKeys, '', 0)
  return out
}

async function getTree(file: JsrootFile, path: string, tree: string): Promise<JsrootTree> {
  const names = await treeNames(file)
  if (!names.includes(tree)) {
    const guess = didYouMean(tree, names)
    throw new RootIoError(
      `tree '${tree}' not found in ${basename(path)}; trees: ${names.length ? names.join(', ') : '(none)'}`,
      guess ? `did you mean '${guess}'?` : undefined,
    )
  }
  try {
    const t = await file.readObject(tree)
    if (!t) throw new Error('empty object')
    return t
  } catch (e) {
    throw new RootIoError(`cannot read tree '${tree}' in ${basename(path)}: ${clean(e)}`)
  }
}

const LEAF_TYPES: Record<string, string> = {
  TLeafF: 'Float_t',
  TLeafD: 'Double_t',
  TLeafI: 'Int_t',
  TLeafS: 'Short_t',
  TLeafB: 'Char_t',
  TLeafL: 'Long64_t',
  TLeafG: 'Long_t',
  TLeafO: 'Bool_t',
  TLeafC: 'Char_t*',
  TLeafF16: 'Float16_t',
  TLeafD32: 'Double32_t',
}

// biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
function branchInfo(b: any): RootBranchInfo {
  // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
  const leaves: any[] = b.fLeaves?.arr ?? []
  const title = String(b.fTitle ?? '')
  // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
  const sub: any[] = b.fBranches?.arr ?? []
  if (b._typename === 'TBranchElement' || b._typename === 'TBranchObject') {
    const cls = String(b.fClassName ?? '')
    const m =
      /^vector<\s*(unsigned\s+)?(float|double|int|short|char|long|long long|bool|Float_t|Double_t|Int_t|UInt_t|Short_t|Long64_t|ULong64_t|Bool_t|Char_t|UChar_t)\s*>$/.exec(
        cls,
      )
    if (m && sub.length === 0) return { name: b.fName, kind: 'jagged', type: cls, title }
    if ((cls === 'string' || cls === 'TString') && sub.length === 0)
      return { name: b.fName, kind: 'string', type: cls, title }
    return { name: b.fName, kind: 'unsupported', type: cls || b._typename, title }
  }
  if (leaves.length !== 1 || sub.length > 0) {
    return { name: b.fName, kind: 'unsupported', type: leaves.map((l) => l._typename).join(',') || b._typename, title }
  }
  const leaf = leaves[0]
  const unsigned = leaf.fIsUnsigned ? 'U' : ''
  const base = LEAF_TYPES[leaf._typename]
  if (!base) return { name: b.fName, kind: 'unsupported', type: leaf._typename, title }
  const type = unsigned && base !== 'Bool_t' && base !== 'Char_t*' ? `${unsigned}${base}` : base
  if (leaf._typename === 'TLeafC') return { name: b.fName, kind: 'string', type, title }
  if (leaf.fLeafCount) return { name: b.fName, kind: 'jagged', type, counter: leaf.fLeafCount.fName, title }
  if (leaf.fLen > 1) return { name: b.fName, kind: 'jagged', type, fixedLength: leaf.fLen, title }
  return { name: b.fName, kind: 'flat', type, title }
}

function treeBranches(tree: JsrootTree): RootBranchInfo[] {
  return (tree.fBranches?.arr ?? []).map(branchInfo)
}

export async function listRootBranches(path: string, tree: string): Promise<RootBranchInfo[]> {
  return withFile(path, async (file) => treeBranches(await getTree(file, path, tree)))
}

export async function rootEntryCount(path: string, tree: string): Promise<number> {
  return withFile(path, async (file) => Number((await getTree(file, path, tree)).fEntries ?? 0))
}

type FlatCtor = { new (n: number): NumericArray }

function flatArrayType(type: string): FlatCtor {
  switch (type) {
    case 'Float_t':
    case 'Float16_t':
      return Float32Array
    case 'Int_t':
      return Int32Array
    case 'UInt_t':
      return Uint32Array
    case 'Short_t':
      return Int16Array
    case 'UShort_t':
      return Uint16Array
    case 'Char_t':
      return Int8Array
    case 'UChar_t':
    case 'Bool_t':
      return Uint8Array
    default:
      return Float64Array // Double_t, Double32_t, (U)Long64_t, Long_t
  }
}

interface Builder {
  info: RootBranchInfo
  flat?: NumericArray
  offsets?: Int32Array
  values?: Float64Array
  nvalues: number
  strings?: string[]
}

function toNumber(x: unknown): number {
  if (typeof x === 'number') return x
  if (typeof x === 'boolean') return x ? 1 : 0
  if (typeof x === 'bigint') return Number(x)
  return NaN
}

function pushValues(bd: Builder, arr: ArrayLike<unknown>): void {
  const need = bd.nvalues + arr.length
  if (need > bd.values!.length) {
    const grown = new Float64Array(Math.max(need, bd.values!.length * 2, 64))
    grown.set(bd.values!.subarray(0, bd.nvalues))
    bd.values = grown
  }
  const v = bd.values!
  let p = bd.nvalues
  for (let i = 0; i < arr.length; i++) v[p++] = toNumber(arr[i])
  bd.nvalues = p
}

// ---------------------------------------------------------------- column cache

/**
 * Decompressed columns are cached in this process, keyed by file identity (path, size, mtime), tree,
 * branch and entry range. A partition read is widened to the basket boundaries of its branches (the
 * whole baskets are decompressed anyway), so the next partitions of the same file in this process
 * slice the cached columns instead of decompressing the same baskets again (uproot's array cache idea).
 * Size limit: HEP_ROOT_CACHE_MB (default 256; 0 disables), or setRootCacheLimit().
 */
interface CacheEntry {
  key: string
  start: number
  stop: number
  column: Column
  bytes: number
}

// HEP_ROOT_CACHE_MB is declared (and checked at server start) in server/settings.ts, but read here
// directly: the hep task runtime starts a process per partition and must not load zod to read it.
let cacheLimit = Math.max(0, Number(process.env.HEP_ROOT_CACHE_MB ?? 256)) * 1024 * 1024
let cacheBytes = 0
const cache = new Map<string, CacheEntry>() // insertion order = LRU order
const cacheIndex = new Map<string, Set<CacheEntry>>() // branch key -> entries
const metaCache = new Map<string, { branches: RootBranchInfo[]; entries: number }>()
const inFlight = new Map<string, Promise<Record<string, Column>>>()

export function setRootCacheLimit(megabytes: number): void {
  cacheLimit = Math.max(0, megabytes) * 1024 * 1024
  evict()
}

export function clearRootCache(): void {
  cache.clear()
  cacheIndex.clear()
  metaCache.clear()
  cacheBytes = 0
}

export function rootCacheStats(): { entries: number; bytes: number; limit: number } {
  return { entries: cache.size, bytes: cacheBytes, limit: cacheLimit }
}

function columnBytes(c: Column): number {
  if (isJagged(c)) return c.values.byteLength + c.offsets.length * 4
  if (Array.isArray(c)) return c.reduce((s, x) => s + 2 * x.length + 16, 0)
  return c.byteLength
}

function evict(): void {
  for (const [id, e] of cache) {
    if (cacheBytes <= cacheLimit) break
    cache.delete(id)
    cacheIndex.get(e.key)?.delete(e)
    cacheBytes -= e.bytes
  }
  if (cacheLimit === 0) metaCache.clear()
}

function cachePut(key: string, start: number, stop: number, column: Column): void {
  if (cacheLimit === 0) return
  const bytes = columnBytes(column)
  if (bytes > cacheLimit / 4) return
  const e: CacheEntry = { key, start, stop, column, bytes }
  cache.set(`${key}|${start}|${stop}`, e)
  let set = cacheIndex.get(key)
  if (!set) cacheIndex.set(key, (set = new Set()))
  set.add(e)
  cacheBytes += bytes
  evict()
}

function cacheGet(key: string, start: number, stop: number): Column | undefined {
  const set = cacheIndex.get(key)
  if (!set) return undefined
  for (const e of set) {
    if (e.start <= start && stop <= e.stop) {
      const id = `${key}|${e.start}|${e.stop}`
      cache.delete(id)
      cache.set(id, e) // most recently used
      return sliceColumn(e.column, start - e.start, stop - e.start)
    }
  }
  return undefined
}

function sliceColumn(c: Column, a: number, b: number): Column {
  if (isJagged(c)) {
    // a <= b <= events: inside the length + 1 offsets
    const o0 = c.offsets[a]!
    const offsets = new Int32Array(b - a + 1)
    for (let i = a; i <= b; i++) offsets[i - a] = c.offsets[i]! - o0
    return { offsets, values: c.values.slice(o0, c.offsets[b]) }
  }
  return c.slice(a, b)
}

/** Entry range covered by the baskets that hold [start, stop) for the given branches. */
function basketRange(
  tree: JsrootTree,
  names: string[],
  start: number,
  stop: number,
  entries: number,
): [number, number] {
  let s0 = start
  let e0 = stop
  for (const b of tree.fBranches?.arr ?? []) {
    if (!names.includes(b.fName)) continue
    const n = Number(b.fWriteBasket ?? 0)
    const be = b.fBasketEntry as ArrayLike<number> | undefined
    if (!be || n < 1) continue
    for (let k = 0; k < n; k++) {
      const bs = Number(be[k])
      const bend = k + 1 < n ? Number(be[k + 1]) : entries
      if (bend <= start || bs >= stop) continue
      s0 = Math.min(s0, bs)
      e0 = Math.max(e0, bend)
    }
  }
  // never widen by more than ~2M entries beyond what was asked
  const slack = 2_000_000
  return [Math.max(0, s0, start - slack), Math.min(entries, e0, stop + slack)]
}

/** Reads branches of a tree for entries [start, stop) into columns. */
export async function readRootColumns(path: string, opts: ReadRootOptions): Promise<EventBatch> {
  if (!opts || typeof opts.tree !== 'string') throw new RootIoError('readRootColumns needs a tree name')
  let fileKey = ''
  if (cacheLimit > 0) {
    try {
      const st = await stat(path)
      if (st.isFile()) fileKey = `${path}|${st.size}|${st.mtimeMs}`
    } catch {
      // withFile reports it
    }
  }
  const metaKey = `${fileKey}|${opts.tree}`
  const meta = fileKey ? metaCache.get(metaKey) : undefined

  const resolveWanted = (all: RootBranchInfo[]): RootBranchInfo[] => {
    const byName = new Map(all.map((b) => [b.name, b]))
    const names = opts.branches ?? all.filter((b) => b.kind !== 'unsupported').map((b) => b.name)
    const wanted: RootBranchInfo[] = []
    for (const n of [...new Set(names)]) {
      const info = byName.get(n)
      if (!info) {
        const guess = didYouMean(n, byName.keys())
        throw new RootIoError(
          `branch '${n}' not found in tree '${opts.tree}' of ${basename(path)}${guess ? `; did you mean '${guess}'?` : ''}`,
          guess ? `did you mean '${guess}'?` : `branches: ${[...byName.keys()].slice(0, 20).join(', ')}`,
        )
      }
      if (info.kind === 'unsupported') {
        throw new RootIoError(
          `branch '${n}' has an unsupported type (${info.type}); numbers, arrays of numbers, std::vector of numbers and strings are supported`,
        )
      }
      wanted.push(info)
    }
    return wanted
  }
  const range = (entries: number): [number, number] => {
    const start = Math.max(0, Math.min(entries, Math.floor(opts.start ?? 0)))
    const stop = Math.max(start, Math.min(entries, Math.floor(opts.stop ?? entries)))
    return [start, stop]
  }
  const assemble = (wanted: RootBranchInfo[], cols: Map<string, Column>, n: number): EventBatch => {
    const columns: Record<string, Column> = {}
    for (const w of wanted) columns[w.name] = cols.get(w.name)!
    shareOffsets(columns, wanted)
    return { length: n, columns }
  }

  // everything cached: no need to open the file
  if (meta) {
    const wanted = resolveWanted(meta.branches)
    const [start, stop] = range(meta.entries)
    const cols = new Map<string, Column>()
    for (const w of wanted) {
      const c = cacheGet(`${metaKey}|${w.name}`, start, stop)
      if (c) cols.set(w.name, c)
    }
    if (cols.size === wanted.length) return assemble(wanted, cols, stop - start)
  }

  return withFile(path, async (file) => {
    const tree = await getTree(file, path, opts.tree)
    const all = treeBranches(tree)
    const entries = Number(tree.fEntries ?? 0)
    if (fileKey) {
      if (metaCache.size >= 256) metaCache.delete(metaCache.keys().next().value as string)
      metaCache.set(metaKey, { branches: all, entries })
    }
    const wanted = resolveWanted(all)
    const [start, stop] = range(entries)
    const cols = new Map<string, Column>()
    const missing: RootBranchInfo[] = []
    for (const w of wanted) {
      const c = fileKey ? cacheGet(`${metaKey}|${w.name}`, start, stop) : undefined
      if (c) cols.set(w.name, c)
      else missing.push(w)
    }
    if (missing.length && stop > start) {
      const [s0, e0] = fileKey
        ? basketRange(
            tree,
            missing.map((m) => m.name),
            start,
            stop,
            entries,
          )
        : [start, stop]
      let read: Record<string, Column>
      if (fileKey) {
        // partitions read concurrently share one read of the same baskets
        const flightKey = `${metaKey}|${s0}|${e0}|${missing
          .map((m) => m.name)
          .sort()
          .join(',')}`
        let pending = inFlight.get(flightKey)
        if (!pending) {
          pending = readBranches(tree, path, opts.tree, missing, s0, e0)
          inFlight.set(flightKey, pending)
          pending.then(
            (cols) => {
              inFlight.delete(flightKey)
              for (const m of missing) {
                const c = cols[m.name]
                if (c) cachePut(`${metaKey}|${m.name}`, s0, e0, c)
              }
            },
            () => inFlight.delete(flightKey),
          )
        }
        read = await pending
      } else read = await readBranches(tree, path, opts.tree, missing, s0, e0)
      for (const m of missing) {
        const c = read[m.name]
        if (!c) throw new RootIoError(`branch '${m.name}' was not read from ${basename(path)}`)
        // the cache keeps its own copy: callers may modify what they get
        cols.set(m.name, fileKey ? sliceColumn(c, start - s0, stop - s0) : c)
      }
    } else {
      for (const m of missing) cols.set(m.name, emptyColumn(m))
    }
    return assemble(wanted, cols, stop - start)
  })
}

function emptyColumn(info: RootBranchInfo): Column {
  if (info.kind === 'jagged') return { offsets: new Int32Array(1), values: new Float64Array(0) }
  if (info.kind === 'string') return []
  return new (flatArrayType(info.type))(0)
}

/** The jsroot part: branches of a tree for entries [start, stop), start < stop. */
async function readBranches(
  tree: JsrootTree,
  path: string,
  treeName: string,
  wanted: RootBranchInfo[],
  start: number,
  stop: number,
): Promise<Record<string, Column>> {
  // jsroot adds the counter branch of a counted array by itself: a counter requested after its
  // arrays would then be added twice and fail, so counters (flat branches) go first
  wanted = [...wanted].sort((a, b) => Number(a.kind !== 'flat') - Number(b.kind !== 'flat'))
  const n = stop - start
  const opts = { tree: treeName }
  const builders: Builder[] = wanted.map((info) => {
    const bd: Builder = { info, nvalues: 0 }
    if (info.kind === 'flat') bd.flat = new (flatArrayType(info.type))(n)
    else if (info.kind === 'jagged') {
      bd.offsets = new Int32Array(n + 1)
      bd.values = new Float64Array(Math.max(16, info.fixedLength ? info.fixedLength * n : n * 2))
    } else bd.strings = new Array<string>(n)
    return bd
  })
  const result = (): Record<string, Column> => {
    const columns: Record<string, Column> = {}
    for (const bd of builders) {
      if (bd.flat) columns[bd.info.name] = bd.flat
      else if (bd.offsets) columns[bd.info.name] = { offsets: bd.offsets, values: bd.values!.slice(0, bd.nvalues) }
      else columns[bd.info.name] = bd.strings!
    }
    return columns
  }
  if (n === 0 || builders.length === 0) return result()

  // biome-ignore lint/suspicious/noExplicitAny: the library returns untyped objects
  const selector = new TSelector() as any
  const keys = builders.map((_, i) => `b${i}`)
  builders.forEach((bd, i) => selector.addBranch(bd.info.name, keys[i]))
  let processed = 0
  let failure: unknown = null
  selector.Process = function (entry: number) {
    try {
      const row = entry - start
      if (row < 0 || row >= n) return
      const tgt = this.tgtobj
      // keys has one entry per builder
      for (let i = 0; i < builders.length; i++) {
        const bd = builders[i]!
        const v = tgt[keys[i]!]
        if (bd.flat) bd.flat[row] = toNumber(v)
        else if (bd.offsets) {
          if (v !== null && v !== undefined && typeof v === 'object' && typeof v.length === 'number') pushValues(bd, v)
          else if (v !== null && v !== undefined) pushValues(bd, [v])
          bd.offsets[row + 1] = bd.nvalues
        } else bd.strings![row] = typeof v === 'string' ? v : String(v ?? '')
      }
      processed++
    } catch (e) {
      failure = e
      this.Abort()
    }
  }
  // fast path used by jsroot when every branch is a plain number: whole basket slices at once
  const allFlat = builders.every((b) => b.flat)
  if (allFlat) {
    selector.ProcessArrays = function (entry: number) {
      try {
        const arrs = this.tgtarr
        let len = -1
        for (let i = 0; i < builders.length; i++) {
          const src = arrs[keys[i]!]
          const row = entry - start
          const take = Math.min(src.length, n - row)
          const dst = builders[i]!.flat!
          for (let j = 0; j < take; j++) dst[row + j] = toNumber(src[j])
          len = take
        }
        processed += Math.max(0, len)
      } catch (e) {
        failure = e
        this.Abort()
      }
    }
  }
  try {
    await treeProcess(tree, selector, { firstentry: start, numentries: n })
  } catch (e) {
    throw new RootIoError(`cannot read tree '${opts.tree}' of ${basename(path)}: ${clean(e)}`)
  }
  if (failure) throw new RootIoError(`cannot read tree '${opts.tree}' of ${basename(path)}: ${clean(failure)}`)
  if (processed !== n) {
    throw new RootIoError(
      `read ${processed} of ${n} entries [${start}, ${stop}) of tree '${opts.tree}' in ${basename(path)}; the file may be damaged`,
    )
  }
  return result()
}

/** Jagged columns with the same counter get one shared offsets array (faster broadcasting). */
function shareOffsets(columns: Record<string, Column>, infos: RootBranchInfo[]): void {
  const first = new Map<string, Int32Array>()
  for (const info of infos) {
    if (info.kind !== 'jagged' || !info.counter) continue
    const c = columns[info.name] as { offsets: Int32Array; values: Float64Array }
    const prev = first.get(info.counter)
    if (!prev) first.set(info.counter, c.offsets)
    else if (prev.length === c.offsets.length && prev.every((x, i) => x === c.offsets[i])) c.offsets = prev
  }
}
