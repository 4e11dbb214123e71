import { describe, it, expect } from 'vitest'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { canonicalJson, compileWorkflow, planHashInput, sha256Hex } from './index.ts'
import { canonicalize, sha256Bytes, sha256HexPortable, sortKeysDeep } from './hash.ts'

const nodeSha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')

// sha256Hex is Node's native hash in Node; sha256HexPortable is what the browser runs: both are checked
describe.each([
  ['sha256Hex', sha256Hex],
  ['pure TypeScript sha256 (browser)', sha256HexPortable],
])('%s', (_name, sha256Hex) => {
  it('matches known vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    )
  })
  it('matches node:crypto on every length around block boundaries and on unicode', () => {
    for (let n = 0; n < 200; n++) {
      const s = 'x'.repeat(n)
      expect(sha256Hex(s)).toBe(nodeSha(s))
    }
    for (const s of ['é', '→ cycle', '😀 emoji', 'mixed ascii and ü and 漢字'.repeat(20)])
      expect(sha256Hex(s)).toBe(nodeSha(s))
    expect(sha256Bytes(new Uint8Array([1, 2, 3]))).toBe(
      createHash('sha256')
        .update(Buffer.from([1, 2, 3]))
        .digest('hex'),
    )
  })
  it('matches node:crypto on random strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => sha256Hex(s) === nodeSha(s)),
      { numRuns: 200 },
    )
  })
})

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}')
  })
  it('returns already-canonical values without copying', () => {
    const v = { a: 1, b: { c: [1, { d: 2 }] } }
    expect(canonicalize(v)).toBe(v)
    const w = { b: 1, a: 2 }
    expect(canonicalize(w)).not.toBe(w)
    expect(JSON.stringify(canonicalize(w))).toBe(JSON.stringify(sortKeysDeep(w)))
  })
})

describe('plan hash input', () => {
  it('is the text plan.hash is the SHA-256 of (the composer worker hashes it natively and sets plan.hash)', () => {
    const yaml = 'name: h\nanalysis:\n  stages:\n    - id: A\n      op: noop\n    - id: B\n      op: noop\n'
    const plan = compileWorkflow(yaml).plan!
    const text = planHashInput(plan)
    expect(text).not.toBeNull()
    expect(nodeSha(text!)).toBe(plan.hash)
    // a hash set from outside replaces the lazy one and is what JSON shows
    const other = compileWorkflow(yaml).plan!
    other.hash = nodeSha(planHashInput(other)!)
    expect(JSON.parse(JSON.stringify(other)).hash).toBe(plan.hash)
    expect(planHashInput({ ...plan })).toBeNull()
  })
})
