/**
 * The bridge's event lines are read with a length cap: in users mode the bridge is the account's
 * process (and its stdout can be written by that user's tasks), so an endless line must be dropped,
 * not buffered by the server.
 */
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { splitLines } from './bridge.ts'

describe('splitLines', () => {
  it('passes lines across chunks, drops an overlong one whole, and keeps going', async () => {
    const input = new PassThrough()
    const got: string[] = []
    splitLines(input, 10, (l) => got.push(l))
    input.write('{"a":1}\n{"b"')
    input.write(':2}\n')
    input.write('x'.repeat(8))
    input.write('y'.repeat(8)) // over the cap: dropped with its end
    input.write('zz\n{"c":3}\n')
    input.end('{"d":4}')
    await new Promise((r) => input.on('end', r))
    expect(got).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}'])
  })
})
