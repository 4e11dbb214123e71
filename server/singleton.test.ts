import { describe, expect, it } from 'vitest'
import { processSingleton, resetProcessSingleton } from './singleton.ts'

describe('processSingleton', () => {
  it('creates once per key and per process, even across module copies', async () => {
    let made = 0
    const a = processSingleton('test.thing', () => ({ n: ++made }))
    const b = processSingleton('test.thing', () => ({ n: ++made }))
    expect(b).toBe(a)
    expect(made).toBe(1)
    resetProcessSingleton('test.thing')
    expect(processSingleton('test.thing', () => ({ n: ++made })).n).toBe(2)
  })
})
