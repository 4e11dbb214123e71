/**
 * Physics while a run runs: the partial results of a hep stage merged from the partitions finished so
 * far. Every task writes `<runDir>/hep/<stage>/<dataset>/part-<i>.json`; here the server merges the
 * ones present (exactly: the merge is associative and commutative, see exact.ts, so the result over
 * all partitions is bit-identical to the task's final merge). Merges are incremental and cached per
 * (run directory, stage, dataset): a read only opens the part files it has not merged yet.
 * No jsroot here (pure merges), so the server bundle stays light.
 */
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { readTaskJson } from '../execution/user-files.ts'
import { type Cutflow, mergeCutflows } from './cutflow.ts'
import { type Hist1D, mergeHistogramLists } from './hist.ts'
import { processSingleton } from '../singleton.ts'

/** what a part file holds (PipelineResult of server/hep/pipeline.ts) */
interface PartResult {
  events: number
  selected: number
  cutflows: Record<string, Cutflow>
  histograms: Hist1D[]
}

export interface PartialResult {
  /** partitions merged in */
  included: number
  /** partitions of the (stage, dataset) */
  total: number
  /** every partition is in: the final result */
  final: boolean
  events: number
  selected: number
  cutflows: Record<string, Cutflow>
  histograms: Hist1D[]
}

interface CacheEntry {
  merged: Set<number>
  acc: PartResult | null
  used: number
}

/** part files larger than this are not merged here (a runaway partial, not physics a page can show) */
const MAX_PART_BYTES = 64 * 1024 * 1024
const MAX_ENTRIES = 128
const cache = processSingleton('hep.partials', () => new Map<string, CacheEntry>())

function merge(a: PartResult, b: PartResult): PartResult {
  const cutflows: Record<string, Cutflow> = { ...a.cutflows }
  for (const [k, cf] of Object.entries(b.cutflows)) {
    const prev = cutflows[k]
    cutflows[k] = prev ? mergeCutflows(prev, cf) : cf
  }
  return {
    events: a.events + b.events,
    selected: a.selected + b.selected,
    cutflows,
    histograms: mergeHistogramLists(a.histograms, b.histograms),
  }
}

function evict(): void {
  if (cache.size <= MAX_ENTRIES) return
  const oldest = [...cache.entries()].sort((x, y) => x[1].used - y[1].used).slice(0, cache.size - MAX_ENTRIES)
  for (const [k] of oldest) cache.delete(k)
}

/**
 * The merged result of the part files in `dir` (one stage and dataset of a run) of a stage with
 * `total` partitions, or null when none has finished yet.
 */
export function readPartialResult(dir: string, total: number): PartialResult | null {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return null
  }
  const key = path.resolve(dir)
  let e = cache.get(key)
  if (!e) {
    e = { merged: new Set(), acc: null, used: 0 }
    cache.set(key, e)
    evict()
  }
  e.used = Date.now()
  for (const n of names) {
    const m = /^part-(\d+)\.json$/.exec(n)
    if (!m) continue
    const index = Number(m[1])
    if (e.merged.has(index) || index >= total) continue
    try {
      // the task's file (users mode: its OS user's), never through a link it put there
      const part = readTaskJson<PartResult>(dir, n, MAX_PART_BYTES)
      if (!part) continue
      e.acc = e.acc ? merge(e.acc, part) : part
      e.merged.add(index)
    } catch {
      // being replaced (a retry) or unreadable: merged on a later read
    }
  }
  if (!e.acc) return null
  return { ...e.acc, included: e.merged.size, total, final: e.merged.size === total }
}

/** forget the cached merges under a run directory (a retried task rewrote its part) */
export function forgetPartialResults(runDir: string): void {
  const root = path.resolve(runDir)
  for (const k of cache.keys()) if (k.startsWith(root + path.sep)) cache.delete(k)
}
