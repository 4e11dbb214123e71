/**
 * Synthetic Z -> mu mu events (plus a Drell-Yan continuum and soft non-prompt muons), generated with
 * a seeded PRNG and written as Parquet, so the demo ships no third-party data.
 *
 * Columns (the names of uproot-HZZ.root where they exist):
 *   Run, Event          Int32         run and event numbers
 *   NMuon               Int32         muons in the event
 *   Muon_Px/Py/Pz/E     jagged        muon four-momenta [GeV], sorted by decreasing pT
 *   Muon_Charge         jagged        +1 / -1
 *   Muon_Iso            jagged        isolation sum [GeV]
 *   MET_px, MET_py      Float64       missing transverse momentum [GeV]
 *   EventWeight         Float64       generator weight (around 1)
 *
 * Same seed and options -> identical events, on every machine.
 */
import type { EventBatch } from './types.ts'
import { HepError } from './types.ts'
import { batchToParquet, writeParquetColumns, type WriteParquetOptions } from './io/parquet.ts'

export interface Rng {
  /** uniform 32-bit unsigned integer */
  nextU32(): number
  /** uniform in [0, 1) with 53 random bits */
  uniform(): number
  /** standard normal */
  normal(): number
  /** exponential with the given mean */
  exponential(mean: number): number
}

/** xoshiro128** seeded through splitmix32: fast, small state, good statistics, reproducible. */
export function createRng(seed: number): Rng {
  let s = seed >>> 0
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix()
  let b = splitmix()
  let c = splitmix()
  let d = splitmix()
  if ((a | b | c | d) === 0) a = 1
  let spare: number | null = null
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0
    const t = (b << 9) >>> 0
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d >>> 0, 11)
    a >>>= 0
    b >>>= 0
    c >>>= 0
    return result
  }
  const uniform = (): number => {
    const hi = nextU32() >>> 5 // 27 bits
    const lo = nextU32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }
  return {
    nextU32,
    uniform,
    normal() {
      if (spare !== null) {
        const v = spare
        spare = null
        return v
      }
      let u = 0
      while (u === 0) u = uniform()
      const v = uniform()
      const r = Math.sqrt(-2 * Math.log(u))
      spare = r * Math.sin(2 * Math.PI * v)
      return r * Math.cos(2 * Math.PI * v)
    },
    exponential(mean: number) {
      let u = 0
      while (u === 0) u = uniform()
      return -mean * Math.log(u)
    },
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

export interface GenerateOptions {
  events: number
  seed?: number
  /** fraction of Z events; the rest is Drell-Yan continuum (default 0.85) */
  signalFraction?: number
  /** first event number (default 1) */
  firstEvent?: number
}

const MZ = 91.1876
const GZ = 2.4952
const MMU = 0.1056583755

interface Muon {
  px: number
  py: number
  pz: number
  e: number
  q: number
  iso: number
  pt: number
}

function decay(rng: Rng, m: number, pt: number, y: number, phi: number): [Muon, Muon] {
  const mt = Math.sqrt(m * m + pt * pt)
  const E = mt * Math.cosh(y)
  const Pz = mt * Math.sinh(y)
  const Px = pt * Math.cos(phi)
  const Py = pt * Math.sin(phi)
  const pstar = Math.sqrt(Math.max(0, (m * m) / 4 - MMU * MMU))
  const cth = 2 * rng.uniform() - 1
  const sth = Math.sqrt(1 - cth * cth)
  const ph = 2 * Math.PI * rng.uniform()
  const out: Muon[] = []
  for (const sgn of [1, -1]) {
    const [px, py, pz] = [sgn * pstar * sth * Math.cos(ph), sgn * pstar * sth * Math.sin(ph), sgn * pstar * cth]
    const e = m / 2
    // boost (e, p) by the Z velocity
    const bx = Px / E
    const by = Py / E
    const bz = Pz / E
    const b2 = bx * bx + by * by + bz * bz
    const g = 1 / Math.sqrt(1 - b2)
    const bp = bx * px + by * py + bz * pz
    const g2 = b2 > 0 ? (g - 1) / b2 : 0
    const lx = px + g2 * bp * bx + g * bx * e
    const ly = py + g2 * bp * by + g * by * e
    const lz = pz + g2 * bp * bz + g * bz * e
    out.push({ px: lx, py: ly, pz: lz, e: 0, q: sgn, iso: 0, pt: 0 })
  }
  return out as [Muon, Muon]
}

function finish(m: Muon, rng: Rng, resolution: number): Muon {
  const k = 1 + resolution * rng.normal()
  m.px *= k
  m.py *= k
  m.pz *= k
  m.pt = Math.hypot(m.px, m.py)
  m.e = Math.sqrt(m.px * m.px + m.py * m.py + m.pz * m.pz + MMU * MMU)
  return m
}

const eta = (m: Muon) => Math.asinh(m.pz / Math.max(m.pt, 1e-9))

/** Generates the events in memory. */
export function generateZmumu(opts: GenerateOptions): EventBatch {
  const n = opts.events
  if (!(Number.isInteger(n) && n >= 0 && n <= 50_000_000))
    throw new HepError('events must be an integer from 0 to 50000000')
  const rng = createRng(opts.seed ?? 42)
  const fsig = opts.signalFraction ?? 0.85
  const first = opts.firstEvent ?? 1

  const run = new Int32Array(n)
  const event = new Int32Array(n)
  const nmu = new Int32Array(n)
  const off = new Int32Array(n + 1)
  const metx = new Float64Array(n)
  const mety = new Float64Array(n)
  const weight = new Float64Array(n)
  const px: number[] = []
  const py: number[] = []
  const pz: number[] = []
  const en: number[] = []
  const q: number[] = []
  const iso: number[] = []

  for (let i = 0; i < n; i++) {
    let m: number
    if (rng.uniform() < fsig) {
      do m = MZ + (GZ / 2) * Math.tan(Math.PI * (rng.uniform() - 0.5))
      while (m < 60 || m > 120)
    } else {
      do m = 20 + rng.exponential(25)
      while (m > 300)
    }
    const pt = rng.exponential(8) + rng.exponential(2)
    const y = 1.2 * rng.normal()
    const phi = 2 * Math.PI * rng.uniform()
    const muons: Muon[] = []
    for (const mu of decay(rng, m, pt, y, phi)) {
      finish(mu, rng, 0.015)
      mu.iso = rng.exponential(0.6)
      if (mu.pt > 5 && Math.abs(eta(mu)) < 2.4 && rng.uniform() < 0.95) muons.push(mu)
    }
    if (rng.uniform() < 0.12) {
      // a soft non-prompt muon (heavy-flavour decay): low pT, poorly isolated
      const spt = 3 + rng.exponential(4)
      const seta = 4.8 * rng.uniform() - 2.4
      const sphi = 2 * Math.PI * rng.uniform()
      const mu: Muon = {
        px: spt * Math.cos(sphi),
        py: spt * Math.sin(sphi),
        pz: spt * Math.sinh(seta),
        e: 0,
        q: rng.uniform() < 0.5 ? -1 : 1,
        iso: 1 + rng.exponential(5),
        pt: 0,
      }
      muons.push(finish(mu, rng, 0.01))
    }
    muons.sort((a, b) => b.pt - a.pt)
    for (const mu of muons) {
      px.push(mu.px)
      py.push(mu.py)
      pz.push(mu.pz)
      en.push(mu.e)
      q.push(mu.q)
      iso.push(mu.iso)
    }
    off[i + 1] = px.length
    nmu[i] = muons.length
    run[i] = 1
    event[i] = first + i
    metx[i] = 12 * rng.normal()
    mety[i] = 12 * rng.normal()
    weight[i] = Math.max(0.05, 1 + 0.1 * rng.normal())
  }
  const jag = (v: number[]) => ({ offsets: off, values: Float64Array.from(v) })
  return {
    length: n,
    columns: {
      Run: run,
      Event: event,
      NMuon: nmu,
      Muon_Px: jag(px),
      Muon_Py: jag(py),
      Muon_Pz: jag(pz),
      Muon_E: jag(en),
      Muon_Charge: jag(q),
      Muon_Iso: jag(iso),
      MET_px: metx,
      MET_py: mety,
      EventWeight: weight,
    },
  }
}

/** Generates events and writes them as a Parquet file. */
export async function writeZmumuParquet(
  path: string,
  opts: GenerateOptions & { parquet?: WriteParquetOptions },
): Promise<{ path: string; events: number }> {
  const batch = generateZmumu(opts)
  await writeParquetColumns(path, batch, {
    ...opts.parquet,
    metadata: {
      generator: 'control-room hep/generate zmumu',
      seed: String(opts.seed ?? 42),
      ...(opts.parquet?.metadata ?? {}),
    },
  })
  return { path, events: batch.length }
}

/** Same, in memory. */
export function zmumuParquetBuffer(opts: GenerateOptions & { parquet?: WriteParquetOptions }): ArrayBuffer {
  return batchToParquet(generateZmumu(opts), opts.parquet)
}
