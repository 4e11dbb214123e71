import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ensureToken, currentToken, safeEqual, tokenFile } from './secrets.ts'
import { authenticate, cookieName, tokenCookieValue, csrfProblem } from './core.ts'

const saved = { ...process.env }
afterEach(() => {
  process.env = { ...saved }
})

function home() {
  process.env.CONTROLROOM_HOME = mkdtempSync(path.join(os.tmpdir(), 'cr-auth-'))
  delete process.env.CONTROLROOM_TOKEN
  delete process.env.CONTROLROOM_AUTH
}

const req = (headers: Record<string, string>, url = 'http://127.0.0.1:3000/api/trpc/x', method = 'GET') => ({
  url,
  method,
  headers: new Headers({ host: '127.0.0.1:3000', ...headers }),
})

describe('token mode', () => {
  it('generates a random token once, 0600, in CONTROLROOM_HOME/token, and reuses it', () => {
    home()
    expect(currentToken()).toBeNull()
    const t = ensureToken()
    expect(t).toMatch(/^[0-9a-f]{48}$/)
    expect(statSync(tokenFile()).mode & 0o777).toBe(0o600)
    expect(readFileSync(tokenFile(), 'utf8').trim()).toBe(t)
    expect(ensureToken()).toBe(t)
    expect(currentToken()).toBe(t)
  })

  it('prefers CONTROLROOM_TOKEN', () => {
    home()
    writeFileSync(path.join(process.env.CONTROLROOM_HOME!, 'token'), 'from-file\n')
    process.env.CONTROLROOM_TOKEN = 'from-env'
    expect(ensureToken()).toBe('from-env')
  })

  it('accepts the bearer token or the derived cookie, nothing else', async () => {
    home()
    process.env.CONTROLROOM_TOKEN = 'the-token-0123456789'
    expect(await authenticate(req({ authorization: 'Bearer the-token-0123456789' }))).toMatchObject({
      ok: true,
      user: { via: 'bearer', mode: 'token' },
    })
    expect(await authenticate(req({ authorization: 'Bearer the-token-012345678' }))).toMatchObject({
      ok: false,
      reason: 'invalid',
    })
    expect(await authenticate(req({ authorization: 'Bearer the-token-0123456789x' }))).toMatchObject({
      ok: false,
      reason: 'invalid',
    })
    expect(await authenticate(req({}))).toMatchObject({ ok: false, reason: 'missing' })
    const r = req({})
    const name = cookieName(r)
    expect(name).toBe('cr_auth_3000')
    expect(
      await authenticate(req({ cookie: `other=1; ${name}=${tokenCookieValue('the-token-0123456789')}` })),
    ).toMatchObject({ ok: true, user: { via: 'cookie' } })
    expect(await authenticate(req({ cookie: `${name}=the-token-0123456789` }))).toMatchObject({
      ok: false,
      reason: 'invalid',
    })
    // a cookie for another port (another server on this host) is not ours
    expect(
      await authenticate(req({ cookie: `cr_auth_3217=${tokenCookieValue('the-token-0123456789')}` })),
    ).toMatchObject({
      ok: false,
      reason: 'missing',
    })
  })

  it('compares in constant time and correctly', () => {
    expect(safeEqual('abc', 'abc')).toBe(true)
    expect(safeEqual('abc', 'abd')).toBe(false)
    expect(safeEqual('abc', 'abcd')).toBe(false)
    expect(safeEqual('', '')).toBe(true)
  })

  it('CSRF check: JSON POST from the same origin only', () => {
    expect(csrfProblem(req({ 'content-type': 'application/json' }, undefined, 'POST'))).toBeNull()
    expect(
      csrfProblem(
        req(
          { 'content-type': 'application/json', origin: 'http://127.0.0.1:3000', 'sec-fetch-site': 'same-origin' },
          undefined,
          'POST',
        ),
      ),
    ).toBeNull()
    expect(csrfProblem(req({ 'content-type': 'application/json' }, undefined, 'GET'))).toMatch(/POST/)
    expect(csrfProblem(req({ 'content-type': 'text/plain' }, undefined, 'POST'))).toMatch(/application\/json/)
    expect(
      csrfProblem(req({ 'content-type': 'application/json', origin: 'http://127.0.0.1:4000' }, undefined, 'POST')),
    ).toMatch(/cross-origin/)
    expect(csrfProblem(req({ 'content-type': 'application/json', origin: 'null' }, undefined, 'POST'))).toMatch(
      /cross-origin/,
    )
    expect(
      csrfProblem(req({ 'content-type': 'application/json', 'sec-fetch-site': 'same-site' }, undefined, 'POST')),
    ).toMatch(/cross-site/)
  })

  it('refuses a misconfigured mode', async () => {
    home()
    process.env.CONTROLROOM_AUTH = 'ldap'
    expect(await authenticate(req({}))).toMatchObject({ ok: false, reason: 'misconfigured' })
  })
})
