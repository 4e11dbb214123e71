/**
 * credentials.status (the credential badge) with REAL credentials found in the usual places
 * (X509_USER_PROXY, BEARER_TOKEN_FILE): browser-safe statuses only, no byte of the material.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import superjson from 'superjson'
import { createCaller } from '../api/root.ts'
import { createInternalContext } from '../api/trpc.ts'
import { trpcError } from '../api/test-helpers.ts'
import { badgeLevel, credentialLevel, timeLeftText } from '../../components/credentials/level.ts'
import { credentialBadgeStatuses } from './status.ts'
import { makePki, makeTokenKey, scitokensCreate, toolsAvailable, vomsProxyFake } from './__fixtures__/mkcreds.ts'

const tools = toolsAvailable()
if (!tools.ok) throw new Error(`credential tests need ${tools.missing.join(', ')}`)

let dir: string
let proxy: string
let token: string
let tokenFile: string
const saved: Record<string, string | undefined> = {}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cr-badge-'))
  const pki = makePki(path.join(dir, 'pki'))
  proxy = vomsProxyFake(pki, path.join(dir, 'x509up_badge'), { vo: 'cms', hours: 3 })
  token = scitokensCreate(makeTokenKey(path.join(dir, 'issuer')), {
    scope: 'storage.read:/ compute.create',
    sub: 'alice',
    aud: 'https://wlcg.cern.ch/jwt/v1/any',
  })
  tokenFile = path.join(dir, 'bt')
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 })
  for (const k of ['X509_USER_PROXY', 'BEARER_TOKEN', 'BEARER_TOKEN_FILE']) saved[k] = process.env[k]
  process.env.X509_USER_PROXY = proxy
  process.env.BEARER_TOKEN_FILE = tokenFile
  delete process.env.BEARER_TOKEN
})
afterAll(() => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  rmSync(dir, { recursive: true, force: true })
})

describe('credentials.status', () => {
  it('returns kind, subject/issuer, expiry, time left, scopes/audience and never the material', async () => {
    const caller = createCaller(createInternalContext())
    const r = await caller.credentials.status()
    const x = r.credentials.find((c) => c.kind === 'x509')!
    const t = r.credentials.find((c) => c.kind === 'scitoken')!
    expect(x).toMatchObject({ found: true, readable: true, expired: false, vo: 'cms', source: 'env:X509_USER_PROXY' })
    expect(x.subject).toContain('CN=Alice Analyst')
    expect(x.secondsLeft).toBeGreaterThan(3 * 3600 - 120)
    expect(x.secondsLeft).toBeLessThanOrEqual(3 * 3600)
    expect(t).toMatchObject({
      found: true,
      readable: true,
      issuer: 'https://issuer.test.example.org',
      scopes: ['storage.read:/', 'compute.create'],
      audience: ['https://wlcg.cern.ch/jwt/v1/any'],
    })
    expect(t.secondsLeft).toBeGreaterThan(0)
    // what goes over the wire: no PEM line, no token part, no path
    const wire = JSON.stringify(superjson.serialize(r))
    const pem = readFileSync(proxy, 'utf8')
    for (const line of pem.split('\n').filter((l) => l.length > 40)) expect(wire).not.toContain(line)
    for (const part of token.split('.')) expect(wire).not.toContain(part.slice(0, 30))
    expect(wire).not.toContain(proxy)
    expect(wire).not.toContain(tokenFile)
    expect(Object.keys(x).sort()).not.toContain('path')
  })

  it('needs an authenticated user', async () => {
    const e = await trpcError(createCaller(createInternalContext({ user: null })).credentials.status())
    expect(e.code).toBe('UNAUTHORIZED')
  })

  it('"no credentials" when none is found', async () => {
    const r = await credentialBadgeStatuses({ env: { XDG_RUNTIME_DIR: dir }, uid: 3_999_999 })
    expect(r.credentials).toEqual([])
    expect(badgeLevel(r.credentials)).toBe('none')
  })

  it('badge colour by time left', () => {
    const c = (secondsLeft: number | null, o: { expired?: boolean; readable?: boolean } = {}) => ({
      kind: 'x509' as const,
      readable: o.readable ?? true,
      expired: o.expired ?? false,
      secondsLeft,
    })
    expect(credentialLevel(c(10 * 3600))).toBe('ok')
    expect(credentialLevel(c(null))).toBe('ok')
    expect(credentialLevel(c(3 * 3600))).toBe('warn')
    expect(credentialLevel(c(20 * 60))).toBe('bad')
    expect(credentialLevel(c(-5, { expired: true }))).toBe('bad')
    expect(credentialLevel(c(9e9, { readable: false }))).toBe('bad')
    expect(badgeLevel([c(10 * 3600), c(3 * 3600)])).toBe('warn')
    expect(timeLeftText(c(2 * 3600 + 5 * 60))).toBe('2h 05m')
    expect(timeLeftText(c(-1, { expired: true }))).toBe('expired')
  })
})
