/**
 * Pure-TypeScript SHA-256 (FIPS 180-4) and canonical JSON. No `crypto` import: this module also
 * runs in the browser, where SubtleCrypto is async only.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
])

/** UTF-8 encode without relying on TextEncoder (always available, but keep this self-contained). */
function utf8(s: string): Uint8Array {
  if (typeof TextEncoder !== 'undefined') return new TextEncoder().encode(s)
  const out: number[] = []
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
        i++
      }
    }
    if (c < 0x80) out.push(c)
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63))
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63))
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63))
  }
  return Uint8Array.from(out)
}

/** SHA-256 of bytes, as a lowercase hex string. */
export function sha256Bytes(data: Uint8Array): string {
  const buf = new Uint8Array(((data.length + 9 + 63) >> 6) << 6)
  buf.set(data)
  return sha256Padded(buf, data.length)
}

/** SHA-256 of buf[0..len), where buf is zero after len and has room for the padding. */
function sha256Padded(buf: Uint8Array, len: number): string {
  const n = ((len + 9 + 63) >> 6) << 6
  const padded = buf
  padded.fill(0, len, n)
  padded[len] = 0x80
  const bitLenHi = Math.floor(len / 0x20000000)
  const bitLenLo = (len << 3) >>> 0
  padded[n - 8] = (bitLenHi >>> 24) & 255
  padded[n - 7] = (bitLenHi >>> 16) & 255
  padded[n - 6] = (bitLenHi >>> 8) & 255
  padded[n - 5] = bitLenHi & 255
  padded[n - 4] = (bitLenLo >>> 24) & 255
  padded[n - 3] = (bitLenLo >>> 16) & 255
  padded[n - 2] = (bitLenLo >>> 8) & 255
  padded[n - 1] = bitLenLo & 255

  let h0 = 0x6a09e667 | 0,
    h1 = 0xbb67ae85 | 0,
    h2 = 0x3c6ef372 | 0,
    h3 = 0xa54ff53a | 0,
    h4 = 0x510e527f | 0,
    h5 = 0x9b05688c | 0,
    h6 = 0x1f83d9ab | 0,
    h7 = 0x5be0cd19 | 0
  const w = new Int32Array(64)
  for (let off = 0; off < n; off += 64) {
    for (let i = 0; i < 16; i++) {
      const j = off + (i << 2)
      w[i] = (padded[j] << 24) | (padded[j + 1] << 16) | (padded[j + 2] << 8) | padded[j + 3]
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]
      const y = w[i - 2]
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0
    }
    let a = h0,
      b = h1,
      c = h2,
      d = h3,
      e = h4,
      f = h5,
      g = h6,
      h = h7
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      const ch = (e & f) ^ (~e & g)
      const t1 = (h + S1 + ch + K[i] + w[i]) | 0
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const maj = (a & b) ^ (a & c) ^ (b & c)
      const t2 = (S0 + maj) | 0
      h = g
      g = f
      f = e
      e = (d + t1) | 0
      d = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    h0 = (h0 + a) | 0
    h1 = (h1 + b) | 0
    h2 = (h2 + c) | 0
    h3 = (h3 + d) | 0
    h4 = (h4 + e) | 0
    h5 = (h5 + f) | 0
    h6 = (h6 + g) | 0
    h7 = (h7 + h) | 0
  }
  let hex = ''
  for (const v of [h0, h1, h2, h3, h4, h5, h6, h7]) hex += (v >>> 0).toString(16).padStart(8, '0')
  return hex
}

/** SHA-256 of the UTF-8 encoding of a string, as lowercase hex. */
export function sha256Hex(text: string): string {
  if (typeof TextEncoder !== 'undefined') {
    const cap = text.length * 3
    const buf = new Uint8Array(((cap + 9 + 63) >> 6) << 6)
    const { written } = new TextEncoder().encodeInto(text, buf)
    return sha256Padded(buf, written ?? 0)
  }
  return sha256Bytes(utf8(text))
}

/**
 * Canonical form of a JSON-like value: every object has its keys in sorted order (by UTF-16 code
 * units; note that ECMAScript always enumerates integer-like keys such as "2" first, ascending, so
 * those come first in the JSON text), `undefined` members are dropped. Objects and arrays that are
 * already canonical are returned as they are (no copy), so building values in sorted key order
 * makes this a cheap walk.
 */
export function canonicalize<T>(value: T): T {
  return canon(value) as T
}

function canon(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) {
    let out: unknown[] | null = null
    for (let i = 0; i < v.length; i++) {
      const c = canon(v[i])
      if (c !== v[i] && !out) out = v.slice(0, i)
      if (out) out.push(c)
    }
    return out ?? v
  }
  const obj = v as Record<string, unknown>
  const keys = Object.keys(obj)
  let sorted = true
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1] > keys[i]) {
      sorted = false
      break
    }
  }
  let changed = !sorted
  const vals: unknown[] = new Array(keys.length)
  for (let i = 0; i < keys.length; i++) {
    const orig = obj[keys[i]]
    if (orig === undefined) changed = true
    const c = canon(orig)
    if (c !== orig) changed = true
    vals[i] = c
  }
  if (!changed) return v
  // biome-ignore lint/correctness/noUnusedFunctionParameters: pre-existing: review when this component is next changed
  const order = keys.map((k, i) => i)
  if (!sorted) order.sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0))
  const out: Record<string, unknown> = {}
  for (const i of order) {
    if (vals[i] === undefined) continue
    if (keys[i] === '__proto__')
      Object.defineProperty(out, '__proto__', { value: vals[i], enumerable: true, writable: true, configurable: true })
    else out[keys[i]] = vals[i]
  }
  return out
}

/** Canonical JSON text: `JSON.stringify` of the canonical form (sorted keys, no whitespace). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value)) ?? 'null'
}

/** Deep copy with object keys in sorted order (kept for callers; prefer `canonicalize`). */
export function sortKeysDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map((x) => sortKeysDeep(x)) as unknown as T
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(value as object).sort()) {
      const item = (value as Record<string, unknown>)[k]
      if (item !== undefined) out[k] = sortKeysDeep(item)
    }
    return out as T
  }
  return value
}
