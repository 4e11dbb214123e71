/**
 * Users mode over real HTTP: login page, signed session cookie, owners recorded, owner-only
 * changes, Basic auth for scripts, logout, forged/expired sessions refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createTRPCClient, httpBatchLink } from '@trpc/client'
import { SignJWT } from 'jose'
import superjson from 'superjson'
import type { AppRouter } from '../api/root.ts'
import { setDb } from '../db/client.ts'
import { createTestDatabase, type TestDatabase } from '../db/testing.ts'
import { startHarness, type Harness } from '../api/http-harness.ts'
import { counts, VALID_YAML } from '../api/test-helpers.ts'
import { hashPassword, verifyPassword } from './users.ts'
import { createSessionValue } from './core.ts'

process.env.CONTROLROOM_HOME = mkdtempSync(path.join(os.tmpdir(), 'cr-users-home-'))
process.env.CONTROLROOM_AUTH = 'users'
delete process.env.CONTROLROOM_TOKEN
process.env.CONTROLROOM_USERS = JSON.stringify([
  { name: 'alice', password: hashPassword('alice-password'), admin: false },
  { name: 'bob', password: hashPassword('bob-password') },
  { name: 'admin', password: hashPassword('admin-password'), admin: true },
])

function client(base: string, cookie: string) {
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: `${base}/api/trpc`, transformer: superjson, headers: () => ({ cookie }) })],
  })
}

async function login(h: Harness, username: string, password: string) {
  return fetch(`${h.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: h.url },
    body: new URLSearchParams({ username, password, next: '/workflows' }).toString(),
  })
}

describe('users mode', () => {
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
  })

  it('hashes passwords with scrypt', () => {
    const hsh = hashPassword('correct horse')
    expect(hsh).toMatch(/^scrypt\$16384\$8\$1\$/)
    expect(verifyPassword('correct horse', hsh)).toBe(true)
    expect(verifyPassword('correct hors', hsh)).toBe(false)
    expect(() => hashPassword('short')).toThrow(/at least 8/)
  })

  it('shows the login page, refuses wrong passwords, sets a session cookie on success', async () => {
    const page = await fetch(`${h.url}/workflows`)
    expect(page.status).toBe(401)
    expect(await page.text()).toMatch(/Log in with your account/)
    const api = await fetch(`${h.url}/api/trpc/workflow.list`)
    expect(api.status).toBe(401)

    const bad = await login(h, 'alice', 'nope-nope')
    expect(bad.status).toBe(401)
    expect(bad.headers.get('set-cookie')).toBeNull()
    const unknown = await login(h, 'mallory', 'whatever1')
    expect(unknown.status).toBe(401)

    const crossSite = await fetch(`${h.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      body: new URLSearchParams({ username: 'alice', password: 'alice-password' }).toString(),
    })
    expect(crossSite.status).toBe(403)

    const ok = await login(h, 'alice', 'alice-password')
    expect(ok.status).toBe(303)
    expect(new URL(ok.headers.get('location')!, h.url).pathname).toBe('/workflows')
    expect(ok.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/)
  })

  it('records owners and lets only the owner or an admin change a workflow', async () => {
    const cookieOf = async (u: string, p: string) =>
      ((await login(h, u, p)).headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    const alice = client(h.url, await cookieOf('alice', 'alice-password'))
    const bob = client(h.url, await cookieOf('bob', 'bob-password'))
    const admin = client(h.url, await cookieOf('admin', 'admin-password'))

    expect(await alice.auth.me.query()).toEqual({ name: 'alice', mode: 'users', admin: false })
    const w = await alice.workflow.saveVersion.mutate({ yaml: VALID_YAML, name: "Alice's analysis" })
    expect(w.workflow.owner).toBe('alice')
    expect(w.version.author).toBe('alice')

    const before = await counts(tdb.db)
    const e = await bob.workflow.delete.mutate({ id: w.workflow.id }).catch((x) => x)
    expect(e.data).toMatchObject({ code: 'FORBIDDEN', httpStatus: 403 })
    expect(e.message).toMatch(/only the owner/)
    expect(await counts(tdb.db)).toEqual(before)

    const renamed = await admin.workflow.rename.mutate({ id: w.workflow.id, name: 'Renamed by admin' })
    expect(renamed.name).toBe('Renamed by admin')

    // Basic auth for scripts
    const basic = await fetch(`${h.url}/api/trpc/auth.me`, {
      headers: { authorization: 'Basic ' + Buffer.from('bob:bob-password').toString('base64') },
    })
    expect(basic.status).toBe(200)
    const basicBad = await fetch(`${h.url}/api/trpc/auth.me`, {
      headers: { authorization: 'Basic ' + Buffer.from('bob:wrong').toString('base64') },
    })
    expect(basicBad.status).toBe(401)
  })

  it('refuses forged and expired sessions; logout clears the cookie', async () => {
    const port = new URL(h.url).port
    const name = `cr_session_${port}`
    const forged =
      Buffer.from(JSON.stringify({ u: 'admin', iat: Date.now(), exp: Date.now() + 1e6 })).toString('base64url') +
      '.AAAA'
    expect((await fetch(`${h.url}/api/trpc/auth.me`, { headers: { cookie: `${name}=${forged}` } })).status).toBe(401)
    // a JWT with alg "none", or signed with another key, is not a session
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const exp = Math.floor(Date.now() / 1000) + 3600
    const none = `${b64({ alg: 'none' })}.${b64({ sub: 'admin', aud: 'controlroom-session', exp })}.`
    const otherKey = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .setAudience('controlroom-session')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode('not-the-session-secret'))
    for (const v of [none, otherKey])
      expect((await fetch(`${h.url}/api/trpc/auth.me`, { headers: { cookie: `${name}=${v}` } })).status).toBe(401)
    const good = await createSessionValue('admin')
    expect(good.split('.')).toHaveLength(3) // a standard JWT
    expect((await fetch(`${h.url}/api/trpc/auth.me`, { headers: { cookie: `${name}=${good}` } })).status).toBe(200)
    const expired = await createSessionValue('alice', Date.now() - 13 * 3600_000)
    const r = await fetch(`${h.url}/api/trpc/auth.me`, { headers: { cookie: `${name}=${expired}` } })
    expect(r.status).toBe(401)
    expect(await r.json()).toMatchObject({ error: { reason: 'expired' } })
    const out = await fetch(`${h.url}/logout`, {
      redirect: 'manual',
      headers: { cookie: `${name}=${await createSessionValue('alice')}` },
    })
    expect(out.status).toBe(303)
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/)
  })
})
