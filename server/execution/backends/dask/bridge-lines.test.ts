/**
 * The bridge's event lines are read with a length cap: in users mode the bridge is the account's
 * process (and its stdout can be written by that user's tasks), so an endless line must be dropped,
 * not buffered by the server.
 */
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { splitLines } from './bridge.ts'
import { parseBridgeEvent } from './protocol.ts'

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

describe('parseBridgeEvent', () => {
  it("reads the bridge's events as Python writes them (None for an absent value)", () => {
    const task = parseBridgeEvent(
      '{"event":"task","taskId":"t1","key":"k-t1-0","attempt":0,"state":"finished","ts":1.5,"exitCode":0,"signal":null,"error":null,"worker":null,"extra":"kept"}',
    )
    expect(task).toMatchObject({ ok: true, event: { event: 'task', state: 'finished', exitCode: 0, signal: null } })
    if (task.ok && task.event.event === 'task') expect(task.event.error).toBeUndefined()
    const ready = parseBridgeEvent(
      JSON.stringify({
        event: 'ready',
        protocol: 1,
        bridgeId: 'b1',
        plugin: true,
        scheduler: { address: 'tcp://127.0.0.1:1', id: null, dashboard: null, dashboardPort: null },
        workers: [
          {
            address: 'tcp://127.0.0.1:2',
            name: 'w',
            host: null,
            nthreads: 2,
            memoryLimit: null,
            resources: { 'pool.default': 1 },
            pools: ['default'],
            pool: 'default',
            pid: null,
            jobId: null,
            jobIds: {},
          },
        ],
        distributed: '2024.1.0',
      }),
    )
    expect(ready).toMatchObject({ ok: true, event: { event: 'ready', workers: [{ pool: 'default', host: null }] } })
  })

  it('says what is wrong with a line that is not an event, and never throws', () => {
    expect(parseBridgeEvent('hello from a print()')).toEqual({ ok: false, error: 'not JSON' })
    expect(parseBridgeEvent('{"event":"task","taskId":"t1","state":"finished"}')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^not a bridge event: (key|attempt|ts)/),
    })
    expect(
      parseBridgeEvent('{"event":"task","taskId":"t1","key":"k","attempt":0,"state":"exploded","ts":1}'),
    ).toMatchObject({
      ok: false,
      error: expect.stringContaining('state'),
    })
    expect(parseBridgeEvent('{"event":"rm -rf"}')).toMatchObject({ ok: false })
    expect(parseBridgeEvent('[1,2]')).toMatchObject({ ok: false })
  })
})
