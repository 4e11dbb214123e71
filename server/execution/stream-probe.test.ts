/**
 * The stream bench's health probe (stream-probe.ts) settles by its deadline: against a real server
 * that answers, one that sends its headers and never its body, and a client whose request never
 * settles at all (what hung the stream bench: it awaited such a probe after every viewer was done).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeOnce, startProbing } from './stream-probe.ts'

let server: http.Server
let base: string
const stalled: http.ServerResponse[] = []

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/ok') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
    } else if (req.url === '/down') {
      res.writeHead(503)
      res.end('down')
    } else {
      // headers and half a body, then nothing
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"ok":')
      stalled.push(res)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  for (const r of stalled) r.destroy()
  await new Promise((resolve) => server.close(resolve))
})

const never = () => new Promise<boolean>(() => {})

describe('the health probe', () => {
  it('times an answer, and counts a non-2xx answer as failed', async () => {
    expect(await probeOnce(`${base}/ok`, 2000)).toMatchObject({ ok: true })
    expect(await probeOnce(`${base}/down`, 2000)).toMatchObject({ ok: false })
  })

  it('settles by its deadline when the body stops half-way', async () => {
    const r = await probeOnce(`${base}/stall`, 300)
    expect(r.ok).toBe(false)
    expect(r.ms).toBeGreaterThanOrEqual(290)
    expect(r.ms).toBeLessThan(2000)
  })

  it('settles by its deadline when the HTTP client never settles', async () => {
    const r = await probeOnce(`${base}/ok`, 300, never)
    expect(r).toMatchObject({ ok: false })
    expect(r.ms).toBeLessThan(2000)
  })

  it('a prober whose probe never settles stops within the deadline', async () => {
    const prober = startProbing(`${base}/ok`, { intervalMs: 10, timeoutMs: 300, get: never })
    await new Promise((r) => setTimeout(r, 100))
    const t0 = performance.now()
    await prober.stop()
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(prober.results.length).toBeGreaterThanOrEqual(1)
    expect(prober.results.every((r) => !r.ok)).toBe(true)
  })
})
