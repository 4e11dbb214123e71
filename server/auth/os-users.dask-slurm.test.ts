/**
 * Users mode on Dask with strategy slurm, with real OS users (created here, removed after), the
 * REAL local Slurm, a real Dask scheduler and bridge on this host and Dask workers in Slurm jobs:
 * alice's run starts its scheduler as alice, submits its worker jobs as alice (Slurm runs them as
 * her), they join over the run's mutual TLS, and her task runs on such a worker as alice, without
 * the server's secrets.
 *
 * Needs root (useradd; the server switches users) and Slurm (SLURM_CONF, or scripts/services).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createTRPCClient, httpBatchLink } from '@trpc/client'
import superjson from 'superjson'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppRouter } from '../api/root.ts'
import { startHarness, type Harness } from '../api/http-harness.ts'
import { setDb } from '../db/client.ts'
import { setEngine } from '../execution/engine.ts'
import { ensureSlurm } from '../execution/strategies/slurm/testing.ts'
import { setupEngineTest, type EngineTestEnv } from '../execution/testing.ts'
import { lookupOsUser } from './os-user.ts'
import { sessionSecret } from './secrets.ts'
import { hashPassword } from './users.ts'

const SUFFIX = String(process.pid)
const ALICE = `crds${SUFFIX}`
const PY = '/usr/bin/python3'

describe('users mode on Dask + Slurm, as the account’s OS user', () => {
  let env: EngineTestEnv
  let h: Harness
  let alice: ReturnType<typeof createTRPCClient<AppRouter>>

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('this suite needs root: it creates OS users with useradd')
    ensureSlurm()
    execFileSync('useradd', ['--no-create-home', '--shell', '/bin/sh', '--home-dir', '/nonexistent', ALICE])
    env = await setupEngineTest()
    setDb(env.t.db, env.t.url)
    setEngine(env.engine)
    process.env.CONTROLROOM_AUTH = 'users'
    delete process.env.CONTROLROOM_USERS
    delete process.env.CONTROLROOM_SESSION_SECRET
    process.env.CONTROLROOM_TOKEN = `dask-slurm-token-${SUFFIX}`
    writeFileSync(
      path.join(env.home, 'users.json'),
      JSON.stringify([{ name: 'alice', password: hashPassword('alice-password'), osUser: ALICE }]),
      { mode: 0o600 },
    )
    writeFileSync(path.join(env.home, 'site.yaml'), 'slurm:\n  pollIntervalMs: 250\n  maxPollIntervalMs: 1000\n')
    sessionSecret()
    h = await startHarness()
    const authorization = `Basic ${Buffer.from('alice:alice-password').toString('base64')}`
    alice = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${h.url}/api/trpc`, transformer: superjson, headers: () => ({ authorization }) })],
    })
  }, 60_000)

  afterAll(async () => {
    try {
      execFileSync('scancel', ['-u', ALICE], { stdio: 'ignore' })
    } catch {
      /* none left */
    }
    await h?.close()
    setEngine(undefined)
    await env?.cleanup()
    try {
      execFileSync('userdel', [ALICE], { stdio: 'ignore' })
    } catch {
      /* already gone */
    }
    delete process.env.CONTROLROOM_AUTH
    delete process.env.CONTROLROOM_TOKEN
  })

  it('runs the scheduler as alice, her worker as a Slurm job of hers over TLS, and her task as her', async () => {
    const yaml = `name: dask on slurm
execution:
  backend: dask
  strategy: slurm
  config: { python: ${PY}, worker_idle_timeout: 1 }
analysis:
  stages:
    - id: Who
      op: shell
      params: { command: "id -un; echo SLURM_JOB_USER=$SLURM_JOB_USER; env; true" }
`
    const w = await alice.workflow.saveVersion.mutate({ yaml, name: 'dask slurm' })
    const { runId } = await alice.run.start.mutate({ versionId: w.version.id })
    expect(await env.waitFor(runId, 150_000)).toBe('succeeded')
    const run = (await env.t.db.run.findUnique({ where: { id: runId } }))!
    const aliceUid = lookupOsUser(ALICE)!.uid
    // the scheduler was alice's process (its log and file are hers), listening with TLS only
    const dask = path.join(run.runDir!, 'dask')
    expect(statSync(path.join(dask, 'scheduler.log')).uid).toBe(aliceUid)
    expect(JSON.parse(readFileSync(path.join(dask, 'scheduler.json'), 'utf8')).address).toMatch(/^tls:\/\//)
    const { items } = await alice.run.tasks.query({ runId })
    const log = await alice.run.log.query({ taskId: items[0]!.id, stream: 'stdout', limit: 1 << 20 })
    expect(log.text.split('\n')[0]).toBe(ALICE)
    expect(log.text).toContain(`SLURM_JOB_USER=${ALICE}`)
    expect(log.text).not.toContain(`dask-slurm-token-${SUFFIX}`)
    expect(log.text).not.toMatch(/^CONTROLROOM_HOME=/m)
  }, 200_000)
})
