import { describe, expect, it } from 'vitest'
import { sha256HexPortable } from '~/server/workflow/hash'
import { nativeSha256Hex } from './planDigest'

describe('the worker digest of a plan (native SHA-256 over a reused UTF-8 buffer)', () => {
  it("equals the compiler's hash, for long and then shorter texts, ASCII or not", async () => {
    // a long text grows the buffer; the shorter ones after it must not hash its leftover bytes
    const texts = [
      JSON.stringify({ stages: Array.from({ length: 3000 }, (_, i) => ({ id: `S${i}`, op: 'noop' })) }),
      '{"name":"short"}',
      '{"name":"Zürich ⚛ 𝔘 μ→ee"}',
      '',
      '{"name":"short"}',
    ]
    for (const t of texts) expect(await nativeSha256Hex(t)).toBe(sha256HexPortable(t))
  })
})
