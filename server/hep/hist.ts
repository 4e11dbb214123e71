/**
 * 1-D histograms with a regular axis, their JSON format, filling and exact merging.
 */
import { ExactAccumulator, addExact, exactFromNumber, exactToNumber, formatExact, mulExact } from './exact.ts'
import { HepError } from './types.ts'

/**
 * Histogram JSON (what `hep.hist` produces per dataset and what is saved as an artifact).
 *
 * Bin arrays have `nbins + 2` entries: index 0 is the underflow (x < low), 1..nbins the bins
 * (bin i covers [low + (i-1) w, low + i w)), nbins + 1 the overflow (x >= high, +Infinity).
 * Values that are NaN (missing, e.g. leading() of an empty list) or carry a non-finite weight are not
 * filled; they are counted in `missing`.
 */
export interface Hist1D {
  type: 'hist1d'
  version: 1
  name: string
  title?: string
  xlabel?: string
  ylabel?: string
  /** the expression filled (or the variable name) */
  expr: string
  /** the weight expression, absent when unweighted */
  weight?: string
  axis: { nbins: number; low: number; high: number }
  /** number of fills, under/overflow included (an integer, whatever the weights) */
  entries: number
  /** values not filled because they (or their weight) were NaN / non-finite */
  missing: number
  /** sum of weights per bin (nearest double of the exact sum) */
  sumw: number[]
  /** sum of squared weights per bin (the variance of a bin's content) */
  sumw2: number[]
  /**
   * Exact sums (canonical hexadecimal floating-point strings, see exact.ts): what merging adds, so that
   * merged partial histograms are bit-identical to an unpartitioned fill.
   */
  exact: { sumw: string[]; sumw2: string[] }
}

export interface HistSpec {
  name: string
  expr: string
  weight?: string
  nbins: number
  low: number
  high: number
  title?: string
  xlabel?: string
  ylabel?: string
}

/** Accumulates fills for one histogram (one partition). `finish()` gives the JSON. */
export class HistFiller {
  readonly spec: HistSpec
  private readonly n: number
  private readonly scale: number
  private counts: Float64Array
  private w: ExactAccumulator | null = null
  private w2: ExactAccumulator | null = null
  private constW: number | null = null
  entries = 0
  missing = 0

  constructor(spec: HistSpec) {
    if (!(Number.isInteger(spec.nbins) && spec.nbins >= 1))
      throw new HepError(`histogram '${spec.name}': nbins must be a positive integer`)
    if (!(Number.isFinite(spec.low) && Number.isFinite(spec.high) && spec.low < spec.high)) {
      throw new HepError(`histogram '${spec.name}': need finite low < high`)
    }
    this.spec = spec
    this.n = spec.nbins
    this.scale = spec.nbins / (spec.high - spec.low)
    this.counts = new Float64Array(spec.nbins + 2)
  }

  private bin(x: number): number {
    const { low, high } = this.spec
    if (x < low) return 0
    if (x >= high) return this.n + 1
    const b = Math.floor((x - low) * this.scale) + 1
    return Math.min(b, this.n) // x just below high can round up to bin n + 1
  }

  /** Unweighted fills (weight 1 each), or a constant weight for all of them. */
  fillUnweighted(values: ArrayLike<number>, constWeight?: number): void {
    if (constWeight !== undefined) {
      if (!Number.isFinite(constWeight)) {
        for (let i = 0; i < values.length; i++) this.missing++
        return
      }
      if (this.constW !== null && this.constW !== constWeight)
        throw new HepError('constant weight changed between fills')
      if (this.w) throw new HepError('cannot mix constant and per-value weights')
      this.constW = constWeight
    }
    const c = this.counts
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!
      if (x !== x) {
        this.missing++
        continue
      }
      c[this.bin(x)]!++
      this.entries++
    }
  }

  /** Weighted fills: values[i] with weights[i]. */
  fillWeighted(values: ArrayLike<number>, weights: ArrayLike<number>): void {
    if (this.constW !== null) throw new HepError('cannot mix constant and per-value weights')
    if (!this.w) {
      this.w = new ExactAccumulator(this.n + 2)
      this.w2 = new ExactAccumulator(this.n + 2)
    }
    const w = this.w
    const w2 = this.w2!
    const c = this.counts
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!
      const wi = weights[i]!
      if (x !== x || !Number.isFinite(wi)) {
        this.missing++
        continue
      }
      const b = this.bin(x)
      c[b]!++
      this.entries++
      w.add(b, wi)
      const sq = wi * wi
      if (Number.isFinite(sq)) {
        // wi*wi is rounded; add its rounding error too so sumw2 is the exact sum of squares
        // (either way each addend depends on wi alone, which is what keeps merging exact)
        w2.add(b, sq)
        w2.add(b, twoProductError(wi, sq))
      }
    }
  }

  finish(): Hist1D {
    const slots = this.n + 2
    let exactW: string[]
    let exactW2: string[]
    if (this.w) {
      exactW = this.w.toExactStrings()
      exactW2 = this.w2!.toExactStrings()
    } else if (this.constW === null) {
      // unweighted: sums of weights and of squared weights are the counts
      exactW = new Array(slots)
      for (let i = 0; i < slots; i++) exactW[i] = formatExact(BigInt(this.counts[i]!), 0)
      exactW2 = exactW
    } else {
      const ew = exactFromNumber(this.constW)
      const ew2 = mulExact(ew, ew)
      exactW = new Array(slots)
      exactW2 = new Array(slots)
      for (let i = 0; i < slots; i++) {
        const cnt = formatExact(BigInt(this.counts[i]!), 0)
        exactW[i] = mulExact(cnt, ew)
        exactW2[i] = mulExact(cnt, ew2)
      }
    }
    const s = this.spec
    const h: Hist1D = {
      type: 'hist1d',
      version: 1,
      name: s.name,
      expr: s.expr,
      axis: { nbins: s.nbins, low: s.low, high: s.high },
      entries: this.entries,
      missing: this.missing,
      sumw: exactW.map(exactToNumber),
      sumw2: exactW2 === exactW ? Array.from(this.counts) : exactW2.map(exactToNumber),
      exact: { sumw: exactW, sumw2: exactW2 === exactW ? [...exactW] : exactW2 },
    }
    if (s.weight !== undefined) h.weight = s.weight
    if (s.title !== undefined) h.title = s.title
    if (s.xlabel !== undefined) h.xlabel = s.xlabel
    if (s.ylabel !== undefined) h.ylabel = s.ylabel
    return h
  }
}

/** Error of a*a relative to its rounded product p (Dekker's two-product; exact barring over/underflow). */
function twoProductError(a: number, p: number): number {
  const split = (x: number): [number, number] => {
    const c = 134217729 * x // 2^27 + 1
    const hi = c - (c - x)
    return [hi, x - hi]
  }
  const [ah, al] = split(a)
  return ah * ah - p + ah * al + al * ah + al * al
}

/** An empty histogram of a spec (what a partition with no events contributes). */
export function emptyHistogram(spec: HistSpec): Hist1D {
  return new HistFiller(spec).finish()
}

/**
 * Merges two histograms of the same name and binning: exact, associative and commutative (the
 * metadata of `a` is kept). Throws HepError on incompatible histograms.
 */
export function mergeHistograms(a: Hist1D, b: Hist1D): Hist1D {
  if (a.name !== b.name) throw new HepError(`cannot merge histogram '${a.name}' with '${b.name}'`)
  if (a.axis.nbins !== b.axis.nbins || a.axis.low !== b.axis.low || a.axis.high !== b.axis.high) {
    throw new HepError(
      `cannot merge histogram '${a.name}': binning differs (${a.axis.nbins}, ${a.axis.low}, ${a.axis.high}) vs (${b.axis.nbins}, ${b.axis.low}, ${b.axis.high})`,
    )
  }
  const slots = a.axis.nbins + 2
  const ew = new Array<string>(slots)
  const ew2 = new Array<string>(slots)
  // partial results are read back from files: a histogram with missing bins is refused, not merged
  const bin = (h: Hist1D, sums: 'sumw' | 'sumw2', i: number): string => {
    const v = h.exact[sums][i]
    if (v === undefined)
      throw new HepError(
        `cannot merge histogram '${h.name}': it has ${h.exact[sums].length} exact ${sums} bins, not ${slots}`,
      )
    return v
  }
  for (let i = 0; i < slots; i++) {
    ew[i] = addExact(bin(a, 'sumw', i), bin(b, 'sumw', i))
    ew2[i] = addExact(bin(a, 'sumw2', i), bin(b, 'sumw2', i))
  }
  return {
    ...a,
    axis: { ...a.axis },
    entries: a.entries + b.entries,
    missing: a.missing + b.missing,
    sumw: ew.map(exactToNumber),
    sumw2: ew2.map(exactToNumber),
    exact: { sumw: ew, sumw2: ew2 },
  }
}

/** Merges two lists of histograms by name (order of `a`, then names only in `b`). */
export function mergeHistogramLists(a: Hist1D[], b: Hist1D[]): Hist1D[] {
  const byName = new Map(b.map((h) => [h.name, h]))
  const out: Hist1D[] = []
  for (const h of a) {
    const o = byName.get(h.name)
    out.push(o ? mergeHistograms(h, o) : h)
    byName.delete(h.name)
  }
  for (const h of byName.values()) out.push(h)
  return out
}

/** Summary numbers of a histogram (from the bins: the mean and std dev use bin centres). */
export function histogramStats(h: Hist1D): {
  entries: number
  integral: number
  underflow: number
  overflow: number
  mean: number
  stddev: number
} {
  const { nbins, low, high } = h.axis
  const w = (high - low) / nbins
  let sw = 0
  let sx = 0
  let sxx = 0
  for (let i = 1; i <= nbins; i++) {
    const c = low + (i - 0.5) * w
    const y = h.sumw[i] ?? NaN // a histogram short of bins has no statistics
    sw += y
    sx += y * c
    sxx += y * c * c
  }
  const mean = sw !== 0 ? sx / sw : NaN
  const variance = sw !== 0 ? Math.max(0, sxx / sw - mean * mean) : NaN
  return {
    entries: h.entries,
    integral: sw,
    underflow: h.sumw[0] ?? NaN,
    overflow: h.sumw[nbins + 1] ?? NaN,
    mean,
    stddev: Math.sqrt(variance),
  }
}
