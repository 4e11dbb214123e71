/**
 * Over real HTTP: the proxy gate + the tRPC route handler (as `next start` runs them), on SQLite
 * and PostgreSQL. No token / wrong token / cross-site requests are refused and nothing is written;
 * the first visit with ?token= sets the cookie; the tRPC client (superjson) works end to end.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { TRPCClientError } from '@trpc/client'
import { setDb } from '../db/client.ts'
import { PROVIDERS, type TestDatabase } from '../db/testing.ts'
import { useTestDatabase } from '../db/testing-vitest.ts'
import { startHarness, type Harness } from './http-harness.ts'
import { counts, trpcClient, VALID_YAML, VALID_YAML_2 } from './test-helpers.ts'

const TOKEN = 'http-test-token-' + 'x'.repeat(24)
process.env.CONTROLROOM_HOME = mkdtempSync(path.join(os.tmpdir(), 'cr-http-home-'))
process.env.CONTROLROOM_TOKEN = TOKEN
delete process.env.CONTROLROOM_AUTH

const client = trpcClient

const saveBody = (yaml: string) => JSON.stringify({ 0: { json: { yaml, name: 'over http' } } })

describe.each(PROVIDERS)('HTTP access and the tRPC route (%s)', (provider) => {
  const testDb = useTestDatabase(provider)
  let tdb: TestDatabase
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  beforeEach(() => {
    tdb = testDb()
    setDb(tdb.db, tdb.url)
  })
  afterAll(async () => {
    await h?.close()
  })

  it('refuses requests without a token or with a wrong one, writing nothing', async () => {
    const before = await counts(tdb.db)
    const post = (headers: Record<string, string>) =>
      fetch(`${h.url}/api/trpc/workflow.saveVersion?batch=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: saveBody(VALID_YAML),
      })

    const none = await post({})
    expect(none.status).toBe(401)
    expect(await none.json()).toMatchObject({ error: { code: 'UNAUTHORIZED', reason: 'missing' } })
    const wrong = await post({ authorization: 'Bearer not-the-token' })
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toMatchObject({ error: { code: 'UNAUTHORIZED', message: 'wrong access token' } })
    const port = new URL(h.url).port
    const badCookie = await post({ cookie: `cr_auth_${port}=forged` })
    expect(badCookie.status).toBe(401)
    const prefix = await post({ authorization: `Bearer ${TOKEN.slice(0, -1)}` })
    expect(prefix.status).toBe(401)

    const list = await fetch(`${h.url}/api/trpc/workflow.list`)
    expect(list.status).toBe(401)

    // the tRPC client sees UNAUTHORIZED too
    const anon = client(h.url, { authorization: 'Bearer nope' })
    await expect(anon.workflow.list.query()).rejects.toBeInstanceOf(TRPCClientError)
    expect(await counts(tdb.db)).toEqual(before)
  })

  it('works with the Bearer token through the tRPC client (superjson dates, errors with details)', async () => {
    const c = client(h.url, { authorization: `Bearer ${TOKEN}` })
    const saved = await c.workflow.saveVersion.mutate({ yaml: VALID_YAML, name: 'HTTP workflow', message: 'v1' })
    expect(saved.version.createdAt).toBeInstanceOf(Date)
    const v2 = await c.workflow.saveVersion.mutate({
      workflowId: saved.workflow.id,
      parentVersionId: saved.version.id,
      yaml: VALID_YAML_2,
    })
    const [got, hist] = await Promise.all([
      c.workflow.get.query({ id: saved.workflow.id }),
      c.workflow.history.query({ id: saved.workflow.id }),
    ])
    expect(got.version?.yaml).toBe(VALID_YAML_2)
    expect(hist.versions.map((v) => v.number)).toEqual([2, 1])

    // conflict over HTTP: code, user-facing message and the head in error.data.details
    const e = await c.workflow.saveVersion
      .mutate({ workflowId: saved.workflow.id, parentVersionId: saved.version.id, yaml: VALID_YAML + '#x\n' })
      .catch((x) => x)
    expect(e).toBeInstanceOf(TRPCClientError)
    expect(e.data).toMatchObject({
      code: 'CONFLICT',
      httpStatus: 409,
      domainCode: 'CONFLICT',
      details: { headVersionId: v2.version.id, headNumber: 2 },
    })
    expect(e.message).toMatch(/saved by .* \(version 2\) since you opened it; reload or save as a copy/)

    // wrong types over HTTP: 400 with a readable message, no stack
    const bad = await c.workflow.saveVersion.mutate({ yaml: 12 as never }).catch((x) => x)
    expect(bad.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 })
    expect(bad.message).toMatch(/^invalid input: yaml: /)
    expect(bad.data.stack).toBeUndefined()

    const huge = await c.workflow.saveVersion.mutate({ yaml: '#'.repeat(1024 * 1024 + 10) }).catch((x) => x)
    expect(huge.data).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 })
  })

  it('turns ?token= into an http-only SameSite=Strict cookie and redirects to the clean URL', async () => {
    const wrong = await fetch(`${h.url}/workflows?token=nope`, { redirect: 'manual' })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('set-cookie')).toBeNull()
    expect(await wrong.text()).toMatch(/That token is not right/)

    const first = await fetch(`${h.url}/workflows?x=1&token=${TOKEN}`, { redirect: 'manual' })
    expect(first.status).toBe(303)
    const loc = new URL(first.headers.get('location')!, h.url)
    expect(loc.pathname + loc.search).toBe('/workflows?x=1')
    expect(loc.origin).toBe(h.url)
    const setCookie = first.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/SameSite=Strict/)
    expect(setCookie).not.toContain(TOKEN) // the cookie holds an HMAC, not the token
    const cookie = setCookie.split(';')[0] ?? ''

    const page = await fetch(`${h.url}/workflows`, { headers: { cookie } })
    expect(page.status).toBe(200)
    const noCookie = await fetch(`${h.url}/workflows`)
    expect(noCookie.status).toBe(401)
    expect(noCookie.headers.get('content-type')).toMatch(/text\/html/)
    expect(await noCookie.text()).toMatch(/needs its access token/)

    // the cookie authorises tRPC calls from the same origin
    const c = client(h.url, { cookie, origin: h.url, 'sec-fetch-site': 'same-origin' })
    const r = await c.workflow.saveVersion.mutate({ yaml: VALID_YAML, name: 'via cookie' })
    expect(r.workflow.owner).toBeTruthy()
  })

  it('refuses cross-site and non-JSON mutations (CSRF), writing nothing', async () => {
    const first = await fetch(`${h.url}/?token=${TOKEN}`, { redirect: 'manual' })
    const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    const before = await counts(tdb.db)
    const url = `${h.url}/api/trpc/workflow.saveVersion?batch=1`
    const evil = await fetch(url, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: 'http://evil.example' },
      body: saveBody(VALID_YAML),
    })
    expect(evil.status).toBe(403)
    expect(await evil.text()).toMatch(/cross-origin request refused/)
    const site = await fetch(url, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
      body: saveBody(VALID_YAML),
    })
    expect(site.status).toBe(403)
    const form = await fetch(url, {
      method: 'POST',
      headers: { cookie, 'content-type': 'text/plain' },
      body: saveBody(VALID_YAML),
    })
    expect(form.status).toBe(415)
    expect(await form.text()).toMatch(/changes must be sent as application\/json/)
    const viaGet = await fetch(
      `${h.url}/api/trpc/workflow.saveVersion?input=${encodeURIComponent(JSON.stringify({ json: { yaml: VALID_YAML } }))}`,
      { headers: { cookie } },
    )
    expect(viaGet.status).toBe(405)
    expect(await counts(tdb.db)).toEqual(before)
  })

  it('keeps /api/health public and refuses oversized bodies early', async () => {
    const { gate } = await import('../auth/gate.ts')
    const { NextRequest } = await import('next/server')
    const health = await gate(new NextRequest(`${h.url}/api/health`))
    expect(health.headers.get('x-middleware-next')).toBe('1')
    const big = await fetch(`${h.url}/api/trpc/workflow.saveVersion?batch=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: 'x'.repeat(9 * 1024 * 1024),
    })
    expect(big.status).toBe(413)
  })
})
