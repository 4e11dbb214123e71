/**
 * SHA-256 (the audited @noble/hashes, synchronous in the browser too, where SubtleCrypto is async
 * only) and canonical JSON. No `crypto` import: this module also runs in the browser.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'

/** SHA-256 of bytes, as a lowercase hex string. */
export function sha256Bytes(data: Uint8Array): string {
  return bytesToHex(sha256(data))
}

type NodeHash = { update(t: string): NodeHash; digest(enc: 'hex'): string }
/**
 * Node's native SHA-256 when this runs in Node (server, CLI: ~1 ms for a 2,000-stage plan, where the
 * pure-JS one takes ~50-600 ms), reached without an import so the module still loads in the browser.
 */
const nodeCreateHash: ((alg: 'sha256') => NodeHash) | null = (() => {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  const crypto = typeof p?.getBuiltinModule === 'function' ? (p.getBuiltinModule('node:crypto') as unknown) : null
  const create = (crypto as { createHash?: (alg: 'sha256') => NodeHash } | null)?.createHash
  return typeof create === 'function' ? create : null
})()

/** SHA-256 of the UTF-8 encoding of a string, as lowercase hex. */
export function sha256Hex(text: string): string {
  if (nodeCreateHash) return nodeCreateHash('sha256').update(text).digest('hex')
  return sha256HexPortable(text)
}

/** The pure-JS SHA-256 (what the browser uses), as lowercase hex. */
export function sha256HexPortable(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)))
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
    if (keys[i - 1]! > keys[i]!) {
      sorted = false
      break
    }
  }
  let changed = !sorted
  const vals: unknown[] = new Array(keys.length)
  for (let i = 0; i < keys.length; i++) {
    const orig = obj[keys[i]!]
    if (orig === undefined) changed = true
    const c = canon(orig)
    if (c !== orig) changed = true
    vals[i] = c
  }
  if (!changed) return v
  const order = keys.map((_, i) => i)
  if (!sorted) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0))
  const out: Record<string, unknown> = {}
  for (const i of order) {
    if (vals[i] === undefined) continue
    if (keys[i] === '__proto__')
      Object.defineProperty(out, '__proto__', { value: vals[i], enumerable: true, writable: true, configurable: true })
    else out[keys[i]!] = vals[i]
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
