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
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureSlurm } from '../execution/strategies/slurm/testing.ts'
import { type Client, type OsUsers, startOsUsers, startRun } from './os-users-testing.ts'

const SUFFIX = String(process.pid)
const PY = '/usr/bin/python3'

describe('users mode on Dask + Slurm, as the account’s OS user', () => {
  let u: OsUsers
  let env: OsUsers['env']
  let ALICE: string
  let alice: Client

  beforeAll(async () => {
    ensureSlurm()
    u = await startOsUsers({
      prefix: 'crds',
      accounts: [{ name: 'alice' }],
      env: { CONTROLROOM_TOKEN: `dask-slurm-token-${SUFFIX}` },
      before: (env) =>
        writeFileSync(path.join(env.home, 'site.yaml'), 'slurm:\n  pollIntervalMs: 250\n  maxPollIntervalMs: 1000\n'),
    })
    env = u.env
    ALICE = u.os.alice!
    alice = u.client('alice')
  }, 60_000)

  afterAll(async () => {
    try {
      execFileSync('scancel', ['-u', ALICE], { stdio: 'ignore' })
    } catch {
      /* none left */
    }
    await u?.close()
  }, 60_000)

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
    const runId = await startRun(alice, yaml, 'dask slurm')
    expect(await env.waitFor(runId, 150_000)).toBe('succeeded')
    const run = (await env.t.db.run.findUnique({ where: { id: runId } }))!
    const aliceUid = u.uidOf('alice')
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
