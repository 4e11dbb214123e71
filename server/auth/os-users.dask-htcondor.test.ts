/**
 * Users mode on Dask + HTCondor, with a real OS user (created here, removed after), over real HTTP
 * and the real run engine, at the level the labelled HTCondor simulator allows (HTCondor is not
 * packaged here): the scheduler is a real Dask scheduler started as alice (TLS only); the worker
 * job is submitted with condor_submit run as alice (its uid recorded by a wrapper) and the
 * simulator's queue names her its Owner; the simulator runs the job's own executable as the tool
 * that starts it runs (alice), as an execute node runs a job as its Owner, so her worker joins her
 * scheduler with the run's certificate and her task runs as her, seeing none of the server's secrets.
 * What the simulator cannot show: a real schedd's authentication of the submitter, and a real
 * execute node's user switch (both HTCondor's own, configured by the site).
 *
 * Needs root (useradd; the server switches users).
 */
import { execFileSync } from 'node:child_process'
import { lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FakeCondor } from '../execution/strategies/htcondor/__fixtures__/fake-condor/index.ts'
import { lookupOsUser } from './os-user.ts'
import { findProcesses } from '../execution/backends/dask/procs.ts'
import {
  type Client,
  installCondorForUsers,
  type OsUsers,
  startOsUsers,
  taskOf,
  startRun,
  until,
} from './os-users-testing.ts'

const SUFFIX = String(process.pid)
const PY = '/usr/bin/python3'

describe('users mode on Dask + HTCondor (simulator), as the account’s OS user', () => {
  let u: OsUsers
  let alice: Client
  let fake: FakeCondor

  beforeAll(async () => {
    u = await startOsUsers({
      prefix: 'crdh',
      accounts: [{ name: 'alice' }],
      env: { CONTROLROOM_TOKEN: `dask-condor-token-${SUFFIX}` },
      before: (env) => {
        const condor = installCondorForUsers(env.home)
        fake = condor.fake
        writeFileSync(path.join(env.home, 'site.yaml'), [...condor.siteLines, ''].join('\n'))
      },
    })
    alice = u.client('alice')
  }, 60_000)

  afterAll(async () => {
    await u?.close()
  }, 60_000)

  it('starts the scheduler as alice over TLS, submits her worker job as her, and her task runs as her', async () => {
    const yaml = `name: dask on condor
execution:
  backend: dask
  strategy: htcondor
  config: { python: ${PY}, worker_idle_timeout: 1 }
analysis:
  stages:
    - id: Who
      op: shell
      params: { command: "id -un; env; true" }
`
    const runId = await startRun(alice, yaml, 'dask condor')
    const state = await u.env.waitFor(runId, 150_000)
    const t = await taskOf(alice, runId)
    expect(state, JSON.stringify(t)).toBe('succeeded')
    const aliceUid = u.uidOf('alice')
    const run = (await u.env.t.db.run.findUnique({ where: { id: runId } }))!
    // the scheduler was alice's process, listening with TLS only
    const dask = path.join(run.runDir!, 'dask')
    expect(statSync(path.join(dask, 'scheduler.log')).uid).toBe(aliceUid)
    expect(JSON.parse(readFileSync(path.join(dask, 'scheduler.json'), 'utf8')).address).toMatch(/^tls:\/\//)
    // every condor tool that submitted, watched or removed her worker job ran as alice
    const calls = readFileSync(path.join(fake.home, 'uids.log'), 'utf8').trim().split('\n')
    const jobCalls = calls.filter((l) => / condor_(submit|q|rm) /.test(l))
    expect(jobCalls.some((l) => / condor_submit /.test(l))).toBe(true)
    for (const l of jobCalls) expect(l.split(' ')[0], l).toBe(String(aliceUid))
    const owners = [...fake.state().queue, ...fake.state().history].map((j) => j.ad.Owner)
    expect(owners).toContain(u.os.alice)
    // her task ran as her, without the server's token or home
    const log = await alice.run.log.query({ taskId: t.id, stream: 'stdout', limit: 1 << 20 })
    expect(log.text.split('\n')[0]).toBe(u.os.alice)
    expect(log.text).not.toContain(`dask-condor-token-${SUFFIX}`)
    expect(log.text).not.toMatch(/^CONTROLROOM_HOME=/m)
    // dask/ is alice's: her session file swapped for a link to the server's users list is not read
    const info = await alice.run.backendInfo.query({ runId })
    expect(info.dask?.scheduler.address).toMatch(/^tls:\/\//)
    // (once the session has closed: until then the server rewrites its file every 250 ms)
    await until('the Dask processes to stop', async () => findProcesses(run.runDir!).length === 0, 30_000)
    await new Promise((r) => setTimeout(r, 1000))
    const session = path.join(dask, 'session.json')
    execFileSync('sh', ['-c', `rm -f ${session}; ln -s ${u.env.home}/users.json ${session}`], {
      uid: aliceUid,
      gid: lookupOsUser(u.os.alice!)!.gid,
    })
    const linked = await alice.run.backendInfo.query({ runId })
    expect(lstatSync(session).isSymbolicLink()).toBe(true)
    expect(linked.dask).toBeNull()
    expect(JSON.stringify(linked)).not.toContain('scrypt$')
  }, 200_000)
})
