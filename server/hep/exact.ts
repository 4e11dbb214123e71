/**
 * Exact sums of doubles, so that merging partial histograms is exactly associative and commutative:
 * filling partitions separately and merging gives bit-identical results to one unpartitioned pass,
 * whatever the partition boundaries or merge order.
 *
 * Every finite double is an integer multiple of 2^-1074. `ExactAccumulator` keeps, per slot, a
 * fixed-point integer in 32-bit limbs (stored in float64s, carried lazily), so a fill is a few float
 * additions. Finished sums are serialised as canonical exact strings in hexadecimal floating-point
 * form, `[-]0x<hex mantissa>p<binary exponent>` (value = mantissa * 2^exponent, mantissa odd or 0),
 * e.g. "0x1p0" is 1, "0x3p-1" is 1.5, "0x4d2p0" is 1234, "0x0p0" is 0. Merging adds these with BigInt.
 * `exactToNumber` rounds correctly to the nearest double.
 */

/** one limb holds 32 bits */
const LIMB = 2 ** 32
/** bit position 0 of limb 0 is 2^-1074; 68 limbs reach 2^1102 (> max double * 2^64 adds) */
const NLIMBS = 68
/** carries are propagated after this many adds (each limb stays below 2^53) */
const NORMALIZE_EVERY = 1 << 19

const INV_LIMB = 2 ** -32
const POW2 = Float64Array.from({ length: 32 }, (_, i) => 2 ** i)

// the bits of one double: f64[0] and its two 32-bit halves u32[LO], u32[HI] (indices that always exist,
// asserted with `!` below)
const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const LO = LITTLE ? 0 : 1
const HI = LITTLE ? 1 : 0

export class ExactAccumulator {
  readonly slots: number
  private readonly limbs: Float64Array
  private adds = 0

  constructor(slots: number) {
    this.slots = slots
    this.limbs = new Float64Array(slots * NLIMBS)
  }

  /** Adds x (finite) to slot s. Non-finite values are ignored: callers route them elsewhere. */
  add(s: number, x: number): void {
    if (x === 0 || x !== x || x === Infinity || x === -Infinity) return
    f64[0] = x
    const hi = u32[HI]!
    const lo = u32[LO]!
    const bexp = (hi >>> 20) & 0x7ff
    // subnormals: mantissa * 2^-1074 (pos 0); normals: (2^52 + mantissa) * 2^(bexp - 1075) (pos bexp - 1)
    const mantHi = bexp === 0 ? hi & 0xfffff : (hi & 0xfffff) + 0x100000
    const pos = bexp === 0 ? 0 : bexp - 1
    const scale = POW2[pos & 31]! // 32 entries
    // value = (mantHi * 2^32 + lo) * 2^r * 2^(32q) units; split into three 32-bit limbs (all exact)
    const t = lo * scale // < 2^64, at most 32 significant bits
    const tHi = Math.floor(t * INV_LIMB)
    const tLo = t - tHi * LIMB
    const u = mantHi * scale // < 2^53
    const uHi = Math.floor(u * INV_LIMB)
    const uLo = u - uHi * LIMB
    const base = s * NLIMBS + (pos >>> 5)
    // pos <= 2045, so base + 2 stays inside the slot's NLIMBS limbs
    const L = this.limbs
    if (x > 0) {
      L[base]! += tLo
      L[base + 1]! += tHi + uLo
      L[base + 2]! += uHi
    } else {
      L[base]! -= tLo
      L[base + 1]! -= tHi + uLo
      L[base + 2]! -= uHi
    }
    if (++this.adds >= NORMALIZE_EVERY) this.normalize()
  }

  /** Propagates carries so every limb but the top one lies in [0, 2^32). */
  normalize(): void {
    const L = this.limbs
    for (let s = 0; s < this.slots; s++) {
      const b = s * NLIMBS
      for (let i = 0; i < NLIMBS - 1; i++) {
        const v = L[b + i]!
        if (v >= 0 && v < LIMB) continue
        const carry = Math.floor(v / LIMB)
        L[b + i] = v - carry * LIMB
        L[b + i + 1]! += carry
      }
    }
    this.adds = 0
  }

  /** Exact value of slot s as an integer count of 2^-1074 units. */
  bigint(s: number): bigint {
    this.normalize()
    const { mant, shift } = this.slotBig(s)
    return mant << BigInt(shift)
  }

  /** Slot s as mant * 2^(32 * shift) units, reading only its non-zero limbs (limbs are normalised). */
  private slotBig(s: number): { mant: bigint; shift: number } {
    const L = this.limbs
    const b = s * NLIMBS
    let lo = 0
    while (lo < NLIMBS && L[b + lo] === 0) lo++
    if (lo === NLIMBS) return { mant: 0n, shift: 0 }
    let hi = NLIMBS - 1
    while (L[b + hi] === 0) hi--
    let v = BigInt(L[b + hi]!)
    for (let i = hi - 1; i >= lo; i--) v = (v << 32n) + BigInt(L[b + i]!)
    return { mant: v, shift: 32 * lo }
  }

  /** Canonical exact string of slot s. */
  exactString(s: number): string {
    this.normalize()
    const { mant, shift } = this.slotBig(s)
    return formatExact(mant, shift - 1074)
  }

  /** Canonical exact strings of every slot. */
  toExactStrings(): string[] {
    this.normalize()
    const out: string[] = new Array(this.slots)
    for (let s = 0; s < this.slots; s++) {
      const { mant, shift } = this.slotBig(s)
      out[s] = formatExact(mant, shift - 1074)
    }
    return out
  }
}

/** Canonical exact string of mant * 2^exp. */
export function formatExact(mant: bigint, exp: number): string {
  if (mant === 0n) return '0x0p0'
  const neg = mant < 0n
  let m = neg ? -mant : mant
  // strip trailing zero bits, 32 at a time, then the rest
  while ((m & 0xffffffffn) === 0n) {
    m >>= 32n
    exp += 32
  }
  const low = Number(m & 0xffffffffn)
  const tz = 31 - Math.clz32(low & -low)
  if (tz > 0) {
    m >>= BigInt(tz)
    exp += tz
  }
  return `${neg ? '-' : ''}0x${m.toString(16)}p${exp}`
}

const EXACT_RE = /^(-?)0x([0-9a-f]+)p(-?\d+)$/

export function parseExact(s: string): { mant: bigint; exp: number } {
  const m = EXACT_RE.exec(s)
  if (!m) throw new Error(`malformed exact sum '${s}'`)
  const mant = BigInt(`0x${m[2]}`)
  return { mant: m[1] ? -mant : mant, exp: Number(m[3]) }
}

/** Exact sum of exact strings (canonical). */
export function addExact(...xs: string[]): string {
  const parts = xs.map(parseExact).filter((p) => p.mant !== 0n)
  if (parts.length === 0) return '0x0p0'
  const e = Math.min(...parts.map((p) => p.exp))
  let sum = 0n
  for (const p of parts) sum += p.mant << BigInt(p.exp - e)
  return formatExact(sum, e)
}

/** Exact product of two exact strings. */
export function mulExact(a: string, b: string): string {
  const x = parseExact(a)
  const y = parseExact(b)
  return formatExact(x.mant * y.mant, x.exp + y.exp)
}

/** Exact string of a finite double. */
export function exactFromNumber(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`cannot represent ${x} exactly`)
  if (x === 0) return '0x0p0'
  f64[0] = x
  const hi = u32[HI]!
  const lo = u32[LO]!
  const bexp = (hi >>> 20) & 0x7ff
  let mant = (BigInt(hi & 0xfffff) << 32n) + BigInt(lo)
  let exp: number
  if (bexp === 0) exp = -1074
  else {
    mant += 1n << 52n
    exp = bexp - 1075
  }
  return formatExact(x < 0 ? -mant : mant, exp)
}

function ldexp(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000
    e -= 1000
  }
  while (e < -1000) {
    x *= 2 ** -1000
    e += 1000
  }
  return x * 2 ** e
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** The double nearest to an exact string (round half to even; deterministic). */
export function exactToNumber(s: string): number {
  const { mant, exp } = parseExact(s)
  if (mant === 0n) return 0
  const neg = mant < 0n
  let m = neg ? -mant : mant
  let e = exp
  if (m > SAFE) {
    const hex = m.toString(16)
    const bits = (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex.slice(0, 1), 16)))
    if (bits > 64) {
      const shift = bits - 64
      const dropped = m & ((1n << BigInt(shift)) - 1n)
      m >>= BigInt(shift)
      if (dropped !== 0n) m |= 1n // sticky bit keeps the rounding of Number() correct
      e += shift
    }
  }
  const v = ldexp(Number(m), e)
  return neg ? -v : v
}
