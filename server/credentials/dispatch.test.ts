/**
 * The credential policy at dispatch (startRun -> engine preflight) with REAL credentials, and the
 * redaction of task logs served to the browser (readLog = tRPC run.log) and of stored task errors.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DomainError } from '../errors.ts'
import { readLog, startRun } from '../execution/runs.ts'
import { setupEngineTest, type EngineTestEnv } from '../execution/testing.ts'
import {
  gridProxyInit,
  makePki,
  makeTokenKey,
  scitokensCreate,
  toolsAvailable,
  vomsProxyFake,
  type Pki,
} from './__fixtures__/mkcreds.ts'

const tools = toolsAvailable()
if (!tools.ok)
  throw new Error(
    `credential tests need ${tools.missing.join(', ')} (apt-get install voms-clients globus-proxy-utils scitokens-cpp openssl)`,
  )

let dir: string
let pki: Pki
let expired: string
let short: string
let jwt: string
let env: EngineTestEnv

const wf = (proxy: string, extra = '', stage = 'echo working') => `
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "${stage}" }
      execution: { timeout: 2h }
execution:
  backend: local
  strategy: local
${extra}  credentials:
    - { kind: x509, path: ${proxy} }
`

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cr-dispatch-creds-'))
  pki = makePki(path.join(dir, 'pki'))
  expired = vomsProxyFake(pki, path.join(dir, 'x509up_expired'), { hours: 1, pastproxy: '2:00' })
  short = gridProxyInit(pki, path.join(dir, 'x509up_short'), '0:30')
  jwt = scitokensCreate(makeTokenKey(path.join(dir, 'issuer')), {
    scope: 'storage.read:/',
    sub: 'alice',
    aud: 'https://wlcg.cern.ch/jwt/v1/any',
  })
  env = await setupEngineTest()
})
afterAll(async () => {
  await env?.cleanup()
  rmSync(dir, { recursive: true, force: true })
})

describe('credential policy at dispatch', () => {
  it('by default (required means required): an expired proxy stops the run before anything is created, naming it and how to renew', async () => {
    const versionId = await env.save(wf(expired))
    const before = await env.t.db.run.count()
    const err = await startRun({ versionId }, env.engine).then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(DomainError)
    const e = err as DomainError
    expect(e.message).toMatch(/X509 proxy .*expired at/)
    expect(e.message).toContain(expired)
    expect(e.message).toMatch(/voms-proxy-init/)
    const problems = (e as unknown as { details: { problems: { code: string; severity: string; hint?: string }[] } })
      .details.problems
    expect(problems).toContainEqual(expect.objectContaining({ code: 'credential-expired', severity: 'error' }))
    expect(await env.t.db.run.count()).toBe(before)
  })

  it('refuse via $CONTROLROOM_CREDENTIAL_POLICY: a proxy expiring before the run ends (time left shown)', async () => {
    const versionId = await env.save(wf(short))
    process.env.CONTROLROOM_CREDENTIAL_POLICY = 'refuse'
    try {
      await expect(startRun({ versionId }, env.engine)).rejects.toThrow(
        /X509 proxy expires in (29|30)m .*before the run's expected end in about 2h 00m.*voms-proxy-init/,
      )
    } finally {
      delete process.env.CONTROLROOM_CREDENTIAL_POLICY
    }
  })

  it('warn (chosen explicitly): the run starts, the warning is returned and stored as a run event', async () => {
    const versionId = await env.save(wf(expired, '  config: { credential_policy: warn }\n'))
    const { runId, warnings } = await startRun({ versionId }, env.engine)
    expect(warnings).toContainEqual(expect.objectContaining({ code: 'credential-expired', severity: 'warning' }))
    expect(await env.waitFor(runId, 30_000)).toBe('succeeded')
    const logs = await env.t.db.event.findMany({ where: { runId, type: 'run.log' } })
    const payloads = logs.map((l) => JSON.parse(l.payload) as { level: string; message: string; code?: string })
    const w = payloads.find((p) => p.code === 'credential-expired')
    expect(w).toMatchObject({ level: 'warn' })
    expect(w!.message).toMatch(/expired at .*voms-proxy-init/)
    // the first run.state event carries the preflight warnings too
    const first = await env.t.db.event.findFirst({ where: { runId, type: 'run.state' }, orderBy: { id: 'asc' } })
    expect(first!.payload).toContain('credential-expired')
  })
})

describe('secrets never reach the browser through task logs or stored errors', () => {
  it('run.log (readLog) redacts JWTs and PEM blocks a task printed; task errors are stored redacted', async () => {
    const pem = readFileSync(short, 'utf8')
    const body = pem.split('\n')[1]! // a base64 line of the proxy certificate
    const versionId = await env.save(`
analysis:
  stages:
    - id: Leak
      op: shell
      params:
        command: ["sh", "-c", "echo token=${jwt}; cat ${short}; echo Authorization: Bearer ${jwt} >&2; echo failing with ${jwt} >&2; exit 3"]
execution:
  backend: local
  strategy: local
`)
    const { runId } = await startRun({ versionId }, env.engine)
    expect(await env.waitFor(runId, 30_000)).toBe('failed')
    const task = (await env.t.db.task.findFirst({ where: { runId } }))!
    // the file on disk is the task's own output (not served as is)
    const raw = readFileSync(path.join(env.home, 'runs', runId, 'tasks', task.id, 'stdout.log'), 'utf8')
    expect(raw).toContain(jwt)

    const out = await readLog(env.t.db, { taskId: task.id, stream: 'stdout' })
    expect(out.text).not.toContain(jwt)
    expect(out.text).not.toContain(body)
    expect(out.text).not.toContain('BEGIN CERTIFICATE')
    expect(out.text).toContain('[REDACTED JWT]')
    expect(out.text).toMatch(/\[REDACTED (CERTIFICATE|RSA PRIVATE KEY|PRIVATE KEY)\]/)
    const err = await readLog(env.t.db, { taskId: task.id, stream: 'stderr', tail: true })
    expect(err.text).not.toContain(jwt)
    expect(err.text).toContain('failing with [REDACTED JWT]')

    // a chunk that starts inside a PEM block (a follow-up read) does not leak the rest of it
    const mid = raw.indexOf(body)
    const chunk = await readLog(env.t.db, { taskId: task.id, stream: 'stdout', offset: mid, limit: 200 })
    expect(chunk.text).not.toContain(body.slice(0, 40))

    // nothing stored in the database carries the token
    const rows = [
      ...(await env.t.db.event.findMany({ where: { runId } })).map((e) => e.payload),
      JSON.stringify(await env.t.db.task.findMany({ where: { runId } })),
    ]
    for (const r of rows) expect(r).not.toContain(jwt.slice(0, 60))
  })
})
