/**
 * The Host-header allow-list over real HTTP (proxy gate + tRPC route): a request naming another
 * host (DNS rebinding) is refused before the access check, even with the right token; this
 * server's names pass; CONTROLROOM_ALLOWED_HOSTS adds names.
 */
import http from 'node:http'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setDb } from '../db/client.ts'
import { createTestDatabase, type TestDatabase } from '../db/testing.ts'
import { startHarness, type Harness } from '../api/http-harness.ts'

const TOKEN = 'hosts-test-token-' + 'z'.repeat(24)
process.env.CONTROLROOM_HOME = mkdtempSync(path.join(os.tmpdir(), 'cr-hosts-'))
process.env.CONTROLROOM_TOKEN = TOKEN
delete process.env.CONTROLROOM_AUTH
delete process.env.CONTROLROOM_ALLOWED_HOSTS

/** GET with an explicit Host header (fetch does not let a caller set it). */
function get(base: string, p: string, host: string): Promise<{ status: number; body: string }> {
  const u = new URL(base)
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: p, headers: { host, authorization: `Bearer ${TOKEN}` } },
      (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('Host-header allow-list', () => {
  let tdb: TestDatabase
  let h: Harness
  beforeAll(async () => {
    tdb = await createTestDatabase('sqlite')
    setDb(tdb.db, tdb.url)
    h = await startHarness()
  })
  afterAll(async () => {
    await h?.close()
    await tdb?.cleanup()
    delete process.env.CONTROLROOM_ALLOWED_HOSTS
  })

  it("answers to this server's names and refuses others, even with the token", async () => {
    const port = new URL(h.url).port
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${os.hostname()}:${port}`])
      expect((await get(h.url, '/api/trpc/auth.me', host)).status, host).toBe(200)
    const evil = await get(h.url, '/api/trpc/auth.me', `rebind.evil.example:${port}`)
    expect(evil.status).toBe(421)
    expect(evil.body).toMatch(/does not answer to the host name "rebind\.evil\.example:\d+".*CONTROLROOM_ALLOWED_HOSTS/)
    expect((await get(h.url, '/workflows', 'rebind.evil.example')).status).toBe(421)
  })

  it('takes the names given in CONTROLROOM_ALLOWED_HOSTS (host or host:port)', async () => {
    const port = new URL(h.url).port
    process.env.CONTROLROOM_ALLOWED_HOSTS = `dash.example.org, other.example.org:${port}`
    expect((await get(h.url, '/api/trpc/auth.me', `dash.example.org:${port}`)).status).toBe(200)
    expect((await get(h.url, '/api/trpc/auth.me', `other.example.org:${port}`)).status).toBe(200)
    expect((await get(h.url, '/api/trpc/auth.me', 'other.example.org:1')).status).toBe(421)
    expect((await get(h.url, '/api/trpc/auth.me', `127.0.0.1:${port}`)).status).toBe(421)
    process.env.CONTROLROOM_ALLOWED_HOSTS = '*'
    expect((await get(h.url, '/api/trpc/auth.me', 'anything.example')).status).toBe(200)
  })
})
