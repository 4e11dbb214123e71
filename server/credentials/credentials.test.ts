/**
 * Credentials with REAL material made offline: a CA with openssl, proxies with grid-proxy-init and
 * voms-proxy-fake (with a real VOMS attribute certificate), read back with voms-proxy-info;
 * WLCG tokens minted with scitokens-create (scitokens-cpp). Needs the Debian packages
 * openssl globus-proxy-utils voms-clients scitokens-cpp (scripts/system-deps.sh installs them).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalTransport } from '../execution/transport/local.ts'
import type { CommandTransport } from '../execution/transport/types.ts'
import type { CredentialRef } from '../workflow/types.ts'
import {
  checkCredentials,
  discoverToken,
  discoverX509,
  estimateRunSeconds,
  inspectCredential,
  jobCredentialSetup,
  prepareRunCredentials,
  redactDeep,
  redactSecrets,
  resolveCredentialRef,
  stageCredential,
} from './index.ts'
import {
  gridProxyInit,
  makePki,
  makeTokenKey,
  scitokensCreate,
  toolsAvailable,
  vomsProxyFake,
  vomsProxyTimeleft,
  type Pki,
  type TokenKey,
} from './__fixtures__/mkcreds.ts'

const tools = toolsAvailable()
if (!tools.ok)
  throw new Error(
    `credential tests need ${tools.missing.join(', ')} (apt-get install voms-clients globus-proxy-utils scitokens-cpp openssl)`,
  )

let dir: string
let pki: Pki
let tk: TokenKey
let proxy: string // grid-proxy-init, 2h30
let vproxy: string // voms-proxy-fake with a cms AC, 3h
let expired: string // voms-proxy-fake, validity ended an hour ago
let token: string // scitokens-create, default lifetime
let tokenFile: string
let longToken: string
const uid = 3_900_000 + Math.floor(Math.random() * 90_000) // a uid no real default file uses

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cr-creds-'))
  pki = makePki(path.join(dir, 'pki'))
  proxy = gridProxyInit(pki, path.join(dir, 'x509up_grid'), '2:30')
  vproxy = vomsProxyFake(pki, path.join(dir, 'x509up_voms'), {
    vo: 'cms',
    fqans: ['/cms/Role=NULL/Capability=NULL', '/cms/higgs/Role=production'],
    hours: 3,
  })
  expired = vomsProxyFake(pki, path.join(dir, 'x509up_expired'), { hours: 1, pastproxy: '2:00' })
  tk = makeTokenKey(path.join(dir, 'issuer'))
  token = scitokensCreate(tk, {
    scope: 'storage.read:/ compute.create',
    sub: 'alice',
    aud: 'https://wlcg.cern.ch/jwt/v1/any',
  })
  tokenFile = path.join(dir, 'token')
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 })
  longToken = scitokensCreate(tk, {
    scope: 'storage.read:/store',
    sub: 'alice',
    exp: String(Math.floor(Date.now() / 1000) + 8 * 3600),
  })
}, 120_000)

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(`/tmp/x509up_u${uid}`, { force: true })
  rmSync(`/tmp/bt_u${uid}`, { force: true })
})

/** every chunk of secret material that must never leave the module */
function secretChunks(): string[] {
  const chunks: string[] = []
  for (const f of [proxy, vproxy, expired]) {
    for (const line of readFileSync(f, 'utf8').split('\n'))
      if (line.length >= 24 && !line.startsWith('-----')) chunks.push(line)
  }
  for (const t of [token, longToken]) {
    chunks.push(t)
    for (const part of t.split('.')) if (part.length >= 16) chunks.push(part.slice(0, 40), part.slice(-40))
  }
  return chunks
}

function expectNoSecret(value: unknown): void {
  const text = JSON.stringify(value)
  for (const c of secretChunks()) expect(text.includes(c), `secret chunk leaked: ${c.slice(0, 12)}...`).toBe(false)
}

describe('X509 proxies (grid-proxy-init, voms-proxy-fake, voms-proxy-info)', () => {
  it('reads a grid-proxy-init proxy: subject, identity and the same time left as voms-proxy-info', async () => {
    const st = await inspectCredential({ kind: 'x509', source: 'path', path: proxy })
    const gridLeft = vomsProxyTimeleft(pki, proxy)
    expect(st.found && st.readable).toBe(true)
    expect(st.error).toBeNull()
    expect(st.proxyType).toBe('rfc')
    expect(st.identity).toBe('/DC=org/DC=ControlRoomTest/OU=People/CN=Alice Analyst')
    expect(st.subject).toMatch(/^\/DC=org\/DC=ControlRoomTest\/OU=People\/CN=Alice Analyst\/CN=\d+$/)
    expect(st.issuer).toBe(st.identity)
    expect(st.vo).toBeNull() // no VOMS extension: none, not an error
    expect(st.fqans).toEqual([])
    expect(Math.abs(st.secondsLeft! - gridLeft)).toBeLessThanOrEqual(3)
    expect(Math.abs(st.secondsLeft! - 2.5 * 3600)).toBeLessThanOrEqual(5)
    expectNoSecret(st)
  })

  it('decodes the VOMS attribute certificate of voms-proxy-fake: VO, FQANs, AC lifetime', async () => {
    const st = await inspectCredential({ kind: 'x509', source: 'path', path: vproxy })
    expect(st.vo).toBe('cms')
    expect(st.fqans).toEqual(['/cms/Role=NULL/Capability=NULL', '/cms/higgs/Role=production'])
    expect(st.vomsExpiresAt).not.toBeNull()
    expect(Math.abs(st.secondsLeft! - vomsProxyTimeleft(pki, vproxy))).toBeLessThanOrEqual(3)
    expect(Math.abs(st.secondsLeft! - 3 * 3600)).toBeLessThanOrEqual(5)
    expectNoSecret(st)
  })

  it('an expired proxy is reported expired with a negative time left', async () => {
    const st = await inspectCredential({ kind: 'x509', source: 'path', path: expired })
    expect(vomsProxyTimeleft(pki, expired)).toBe(0)
    expect(st.expired).toBe(true)
    expect(st.secondsLeft!).toBeLessThan(-3000)
  })

  it('discovers $X509_USER_PROXY first, then /tmp/x509up_u$UID', async () => {
    const a = await discoverX509({ env: { X509_USER_PROXY: vproxy }, uid })
    expect(a.location).toMatchObject({ source: 'env:X509_USER_PROXY', path: vproxy })
    const b = await discoverX509({ env: {}, uid })
    expect(b.location).toMatchObject({ source: `default:/tmp/x509up_u${uid}`, path: `/tmp/x509up_u${uid}` })
    const missing = await inspectCredential(b.location, {}, b.tried)
    expect(missing.found).toBe(false)
    expect(missing.error).toContain(`/tmp/x509up_u${uid}`)
    writeFileSync(`/tmp/x509up_u${uid}`, readFileSync(proxy), { mode: 0o600 })
    const found = await inspectCredential(b.location)
    expect(found.found && found.readable).toBe(true)
  })

  it('a file that is not a certificate is unreadable, with a reason and no content', async () => {
    const junk = path.join(dir, 'junk')
    writeFileSync(junk, 'not a proxy, secret-ish text here\n')
    const st = await inspectCredential({ kind: 'x509', source: 'path', path: junk })
    expect(st.found).toBe(true)
    expect(st.readable).toBe(false)
    expect(st.error).toMatch(/no PEM certificate/)
    expect(JSON.stringify(st)).not.toContain('secret-ish')
  })
})

describe('bearer tokens (scitokens-create)', () => {
  it('decodes exp, scope, aud, iss and sub without verifying, lifetime as minted', async () => {
    const st = await inspectCredential({ kind: 'scitoken', source: 'path', path: tokenFile })
    expect(st.readable).toBe(true)
    expect(st.profile).toBe('wlcg')
    expect(st.issuer).toBe('https://issuer.test.example.org')
    expect(st.subject).toBe('alice')
    expect(st.scopes).toEqual(['storage.read:/', 'compute.create'])
    expect(st.audience).toEqual(['https://wlcg.cern.ch/jwt/v1/any'])
    // scitokens-create's default lifetime is 600 s
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())
    expect(payload.exp - payload.iat).toBe(600)
    expect(Date.parse(st.expiresAt!) / 1000).toBe(payload.exp)
    expect(st.secondsLeft!).toBeGreaterThan(590)
    expect(st.secondsLeft!).toBeLessThanOrEqual(600)
    expectNoSecret(st)
  })

  it('accepts the string exp that scitokens-create writes for --claim exp=...', async () => {
    const st = await inspectCredential(
      { kind: 'scitoken', source: 'env:BEARER_TOKEN', path: null, valueEnv: 'BEARER_TOKEN' },
      { env: { BEARER_TOKEN: longToken } },
    )
    expect(Math.abs(st.secondsLeft! - 8 * 3600)).toBeLessThanOrEqual(5)
    expect(st.scopes).toEqual(['storage.read:/store'])
    expectNoSecret(st)
  })

  it('follows the WLCG discovery order: BEARER_TOKEN, BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u$ID, /tmp/bt_u$ID', async () => {
    const xdg = path.join(dir, 'xdg')
    mkdirSync(xdg, { recursive: true })
    writeFileSync(path.join(xdg, `bt_u${uid}`), longToken, { mode: 0o600 })
    writeFileSync(`/tmp/bt_u${uid}`, token, { mode: 0o600 })
    const all = { BEARER_TOKEN: token, BEARER_TOKEN_FILE: tokenFile, XDG_RUNTIME_DIR: xdg }
    expect((await discoverToken({ env: all, uid })).location).toMatchObject({
      source: 'env:BEARER_TOKEN',
      path: null,
      valueEnv: 'BEARER_TOKEN',
    })
    expect((await discoverToken({ env: { ...all, BEARER_TOKEN: '' }, uid })).location).toMatchObject({
      source: 'env:BEARER_TOKEN_FILE',
      path: tokenFile,
    })
    expect((await discoverToken({ env: { XDG_RUNTIME_DIR: xdg }, uid })).location).toMatchObject({
      path: path.join(xdg, `bt_u${uid}`),
    })
    expect(
      (await discoverToken({ env: { XDG_RUNTIME_DIR: path.join(dir, 'empty-xdg') }, uid })).location,
    ).toMatchObject({ path: `/tmp/bt_u${uid}` })
    expect((await discoverToken({ env: {}, uid })).location).toMatchObject({ source: `default:/tmp/bt_u${uid}` })
  })

  it('resolves plan references: env (value or file), path, discover', async () => {
    const env = { MY_TOKEN: token, MY_TOKEN_PATH: tokenFile, X509_USER_PROXY: proxy }
    const byValue = await resolveCredentialRef(
      { kind: 'scitoken', source: 'env', env: 'MY_TOKEN', required: true },
      { env },
    )
    expect(byValue.location.valueEnv).toBe('MY_TOKEN')
    const byFile = await resolveCredentialRef(
      { kind: 'scitoken', source: 'env', env: 'MY_TOKEN_PATH', required: true },
      { env },
    )
    expect(byFile.location.path).toBe(tokenFile)
    const byPath = await resolveCredentialRef(
      { kind: 'x509', source: 'path', path: '$HOME/x509up_grid', required: true },
      { env: { HOME: dir } },
    )
    expect(byPath.location.path).toBe(proxy)
    const disc = await resolveCredentialRef({ kind: 'x509', source: 'discover', required: true }, { env })
    expect(disc.location.path).toBe(proxy)
  })
})

describe('policy: missing, expired, expiring before the run ends', () => {
  const x509: CredentialRef = { kind: 'x509', source: 'env', env: 'X509_USER_PROXY', required: true }
  const tok: CredentialRef = { kind: 'scitoken', source: 'env', env: 'BEARER_TOKEN_FILE', required: true }

  it('refuse mode: an expired proxy is an error and blocks dispatch', async () => {
    const r = await checkCredentials({ credentials: [x509] }, 600, {
      mode: 'refuse',
      env: { X509_USER_PROXY: expired },
    })
    expect(r.ok).toBe(false)
    expect(r.problems).toMatchObject([{ code: 'credential-expired', severity: 'error', kind: 'x509' }])
    expect(r.problems[0]!.hint).toMatch(/voms-proxy-init/)
    expectNoSecret(r)
  })

  it('warn mode: the same proxy only warns and dispatch may go ahead', async () => {
    const r = await checkCredentials({ credentials: [x509] }, 600, { mode: 'warn', env: { X509_USER_PROXY: expired } })
    expect(r.ok).toBe(true)
    expect(r.problems).toMatchObject([{ code: 'credential-expired', severity: 'warning' }])
  })

  it('a token with 10 minutes left warns (or refuses) for a run expected to last an hour', async () => {
    const warn = await checkCredentials({ credentials: [tok] }, 3600, {
      mode: 'warn',
      env: { BEARER_TOKEN_FILE: tokenFile },
    })
    expect(warn.ok).toBe(true)
    expect(warn.problems).toMatchObject([
      { code: 'credential-expires-during-run', severity: 'warning', kind: 'scitoken' },
    ])
    expect(warn.problems[0]!.message).toMatch(/expires in (9|10)m/)
    const refuse = await checkCredentials({ credentials: [tok] }, 3600, {
      mode: 'refuse',
      env: { BEARER_TOKEN_FILE: tokenFile },
    })
    expect(refuse.ok).toBe(false)
    // a short run is fine
    const short = await checkCredentials({ credentials: [tok] }, 60, {
      mode: 'refuse',
      env: { BEARER_TOKEN_FILE: tokenFile },
    })
    expect(short.problems).toEqual([])
  })

  it('minValidSeconds from the workflow is enforced', async () => {
    const r = await checkCredentials({ credentials: [{ ...x509, minValidSeconds: 4 * 3600 }] }, null, {
      mode: 'refuse',
      env: { X509_USER_PROXY: proxy },
    })
    expect(r.problems).toMatchObject([{ code: 'credential-below-minimum', severity: 'error' }])
  })

  it('a missing required credential is reported with where it was looked for; an optional one is not', async () => {
    const r = await checkCredentials({ credentials: [{ kind: 'x509', source: 'discover', required: true }] }, null, {
      mode: 'refuse',
      env: {},
      uid: uid + 1,
    })
    expect(r.ok).toBe(false)
    expect(r.problems[0]).toMatchObject({ code: 'credential-missing', severity: 'error' })
    expect(r.problems[0]!.message).toContain(`/tmp/x509up_u${uid + 1}`)
    const opt = await checkCredentials({ credentials: [{ kind: 'x509', source: 'discover', required: false }] }, null, {
      mode: 'refuse',
      env: {},
      uid: uid + 1,
    })
    expect(opt).toMatchObject({ ok: true, problems: [] })
  })

  it('estimates a run from stage timeouts along the longest chain', () => {
    const stage = (id: string, needs: string[], timeoutSeconds: number | null, pool = 'default') =>
      ({ id, needs, timeoutSeconds, pool }) as never
    expect(
      estimateRunSeconds({ pools: [], stages: [stage('a', [], 600), stage('b', ['a'], 1200), stage('c', ['a'], 60)] }),
    ).toBe(1800)
    expect(estimateRunSeconds({ pools: [], stages: [stage('a', [], null)] })).toBeNull()
  })
})

describe('staging into the run directory', () => {
  it('copies the proxy and token with mode 0600 in a 0700 directory, content intact', async () => {
    const runDir = path.join(dir, 'run-local')
    const loc = { kind: 'x509' as const, source: 'path', path: vproxy }
    const st = await inspectCredential(loc)
    const s = await stageCredential(loc, st, runDir)
    expect(s.path).toBe(path.join(runDir, 'credentials', 'x509_proxy'))
    expect(statSync(s.path).mode & 0o777).toBe(0o600)
    expect(statSync(path.dirname(s.path)).mode & 0o777).toBe(0o700)
    expect(readFileSync(s.path)).toEqual(readFileSync(vproxy))
    const tl = { kind: 'scitoken' as const, source: 'env:BEARER_TOKEN', path: null, valueEnv: 'BEARER_TOKEN' }
    const t = await stageCredential(tl, await inspectCredential(tl, { env: { BEARER_TOKEN: token } }), runDir, {
      env: { BEARER_TOKEN: token },
    })
    expect(statSync(t.path).mode & 0o777).toBe(0o600)
    expect(readFileSync(t.path, 'utf8').trim()).toBe(token)
    expectNoSecret([s, t])
  })

  it('stages through a remote transport (stdin, umask 077) with mode 0600 even under umask 022', async () => {
    const local = new LocalTransport()
    const calls: string[][] = []
    const remote: CommandTransport = {
      kind: 'ssh',
      description: 'ssh test@login (simulated by a local shell)',
      run: (argv, o) => {
        calls.push(argv)
        return local.run(['sh', '-c', 'umask 022; exec "$@"', 'sh', ...argv], o)
      },
    }
    const runDir = path.join(dir, 'run-remote')
    const loc = { kind: 'scitoken' as const, source: 'path', path: tokenFile }
    const s = await stageCredential(loc, await inspectCredential(loc), runDir, { transport: remote })
    expect(statSync(s.path).mode & 0o777).toBe(0o600)
    expect(readFileSync(s.path, 'utf8').trim()).toBe(token)
    // the token went through stdin: no argv carries it
    expect(JSON.stringify(calls)).not.toContain(token.split('.')[1]!)
  })

  it('tells jobs where the copies are: shared paths for Slurm, transfer + scratch env for HTCondor', async () => {
    const runDir = path.join(dir, 'run-jobs')
    const p = await prepareRunCredentials(
      {
        credentials: [
          { kind: 'x509', source: 'env', required: true },
          { kind: 'scitoken', source: 'discover', required: true },
        ],
      },
      runDir,
      60,
      { mode: 'refuse', env: { X509_USER_PROXY: vproxy, BEARER_TOKEN_FILE: tokenFile } },
    )
    expect(p.check.ok).toBe(true)
    expect(p.staged.map((s) => s.fileName)).toEqual(['x509_proxy', 'bearer_token'])
    const shared = jobCredentialSetup(p.staged, 'shared-path')
    expect(shared.env).toEqual({
      X509_USER_PROXY: path.join(runDir, 'credentials/x509_proxy'),
      BEARER_TOKEN_FILE: path.join(runDir, 'credentials/bearer_token'),
    })
    const condor = jobCredentialSetup(p.staged, 'transfer')
    expect(condor.x509userproxy).toBe(path.join(runDir, 'credentials/x509_proxy'))
    expect(condor.transferInputFiles).toEqual([path.join(runDir, 'credentials/bearer_token')])
    expect(condor.lines.join('\n')).toContain('export BEARER_TOKEN_FILE="${_CONDOR_SCRATCH_DIR:-$PWD}/bearer_token"')
    expectNoSecret([p, shared, condor])
  })

  it('refuse mode stages nothing when a credential blocks', async () => {
    const runDir = path.join(dir, 'run-blocked')
    const p = await prepareRunCredentials(
      { credentials: [{ kind: 'x509', source: 'env', required: true }] },
      runDir,
      600,
      { mode: 'refuse', env: { X509_USER_PROXY: expired } },
    )
    expect(p.check.ok).toBe(false)
    expect(p.staged).toEqual([])
    expect(() => statSync(path.join(runDir, 'credentials'))).toThrow()
  })

  it('the job really reads the staged copy (bash, transfer mode)', async () => {
    const runDir = path.join(dir, 'run-bash')
    const p = await prepareRunCredentials(
      { credentials: [{ kind: 'scitoken', source: 'env', required: true }] },
      runDir,
      60,
      { env: { BEARER_TOKEN_FILE: tokenFile } },
    )
    const setup = jobCredentialSetup(p.staged, 'transfer')
    // simulate HTCondor's transfer: the file lands in the scratch directory
    const scratch = path.join(dir, 'scratch')
    mkdirSync(scratch, { recursive: true })
    writeFileSync(path.join(scratch, 'bearer_token'), readFileSync(setup.transferInputFiles[0]!))
    chmodSync(path.join(scratch, 'bearer_token'), 0o644)
    const r = await new LocalTransport().run(
      ['bash', '-c', [...setup.lines, 'stat -c %a "$BEARER_TOKEN_FILE"; head -c 20 "$BEARER_TOKEN_FILE"'].join('\n')],
      {
        env: { _CONDOR_SCRATCH_DIR: scratch },
      },
    )
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`600\n${token.slice(0, 20)}`)
  })
})

describe('redactSecrets', () => {
  it('removes PEM blocks (also cut off), JWTs and bearer values from log text', () => {
    const pem = readFileSync(vproxy, 'utf8')
    const log = [
      'starting job',
      pem,
      `BEARER_TOKEN=${token}`,
      `curl -H "Authorization: Bearer ${token}" https://x`,
      `token is ${longToken} ok`,
      'BEARER_TOKEN_FILE=/run/credentials/bearer_token stays',
      pem.slice(0, 300), // a PEM block cut by a log chunk boundary
    ].join('\n')
    const out = redactSecrets(log, { env: {} })
    for (const c of secretChunks()) expect(out.includes(c)).toBe(false)
    expect(out).toContain('[REDACTED CERTIFICATE]')
    expect(out).toContain('BEARER_TOKEN=[REDACTED]')
    expect(out).toContain('BEARER_TOKEN_FILE=/run/credentials/bearer_token stays')
    expect(out).toContain('starting job')
  })

  it('removes the value of $BEARER_TOKEN even when it is not JWT-shaped, and works on nested objects', () => {
    const opaque = 'opaque-token-value-1234567890'
    const out = redactDeep({ msg: `got ${opaque}`, list: [`x ${opaque}`] }, { env: { BEARER_TOKEN: opaque } })
    expect(JSON.stringify(out)).not.toContain(opaque)
  })
})
