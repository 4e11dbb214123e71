/**
 * Users mode on the Dask backend, with real OS users (created here with useradd, removed after),
 * over real HTTP (the proxy gate + the tRPC route handler), the real run engine and a real Dask
 * scheduler, workers and bridge (Debian's /usr/bin/python3 with distributed):
 *
 *   as the user   alice's run starts its scheduler, workers and bridge as alice (never root) and
 *                 her task runs as alice, without the server's variables in its environment, and
 *                 cannot read the session secret, the users list or the database
 *   mutual TLS    bob (another local user) cannot talk to alice's scheduler: it speaks TLS only
 *                 and wants the run's certificate, which is alice's alone (0600 in her 0700 dir)
 *   python        an interpreter named in alice's workflow is never run by the server as itself:
 *                 not by the preview, and as alice when her run starts
 *   refusal       an existing scheduler (scheduler_address) is refused, with the reason
 *
 * Needs root (useradd; the server switches users). Not root: the suite fails and says so.
 */
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runDirFor } from '../execution/paths.ts'
import { processUid } from '../execution/backends/dask/as-user.ts'
import { findProcesses } from '../execution/backends/dask/procs.ts'
import { lookupOsUser } from './os-user.ts'

import { mustHave } from '../must.ts'
import { type Client, type OsUsers, startOsUsers, taskOf as firstTask, until, startRun } from './os-users-testing.ts'

const SUFFIX = String(process.pid)
const PY = '/usr/bin/python3'

/** run a Python snippet as an OS user; its output (stdout + stderr) and exit code */
function pythonAs(user: string, code: string): Promise<{ code: number; out: string }> {
  const u = lookupOsUser(user)!
  return new Promise((resolve) => {
    execFile(
      PY,
      ['-c', code],
      {
        uid: u.uid,
        gid: u.gid,
        cwd: '/',
        env: { PATH: '/usr/bin:/bin', HOME: '/tmp', NODE_ENV: 'test' },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    )
  })
}

describe('users mode on Dask with real OS users', () => {
  let u: OsUsers
  let env: OsUsers['env']
  let OS: Record<'alice' | 'bob', string>
  let alice: Client
  let aliceUid: number

  beforeAll(async () => {
    u = await startOsUsers({
      prefix: 'crd',
      accounts: [{ name: 'alice' }, { name: 'bob' }],
      // a server secret in the server's environment: it must reach no Dask process and no task
      env: { CONTROLROOM_TOKEN: `server-token-${SUFFIX}` },
    })
    env = u.env
    OS = mustHave(u.os, ['alice', 'bob'], 'the OS users of the accounts')
    alice = u.client('alice')
    aliceUid = u.uidOf('alice')
  }, 60_000)

  afterAll(async () => {
    await u?.close()
  }, 60_000)

  const taskOf = (runId: string, stage: string) => firstTask(alice, runId, stage)

  it("runs the scheduler, workers, bridge and task as alice, over TLS bob cannot join; the task sees none of the server's secrets", async () => {
    const home = env.home
    const secret = readFileSync(path.join(home, 'session-secret'), 'utf8').trim()
    const yaml = `name: dask snoop
execution:
  backend: dask
  strategy: local
  config: { python: ${PY} }
analysis:
  stages:
    - id: Snoop
      op: shell
      params:
        command: "id -un; cat ${home}/session-secret ${home}/users.json ${env.t.url.replace('file:', '')} 2>&1; env; true"
    - id: Hold
      op: shell
      params: { command: "sleep 30" }
      needs: [Snoop]
`
    const runId = await startRun(alice, yaml, 'dask snoop')
    const runDir = runDirFor(runId)
    await until('Hold to run', async () => (await taskOf(runId, 'Hold')).state === 'running')

    // every Dask process of the run is alice's
    const procs = findProcesses(runDir).filter((p) => /distributed|bridge\.py/.test(p.cmdline))
    const kinds = (re: RegExp) => procs.filter((p) => re.test(p.cmdline))
    expect(kinds(/--no-show/).length).toBeGreaterThan(0)
    expect(kinds(/bridge\.py/).length).toBe(1)
    expect(kinds(/--resources pool\./).length).toBeGreaterThan(0)
    for (const p of procs)
      expect({ cmd: p.cmdline.slice(0, 60), uid: processUid(p.pid) }).toMatchObject({ uid: aliceUid })

    // the scheduler speaks TLS only, with the run's certificate: alice's alone
    const sched = JSON.parse(readFileSync(path.join(runDir, 'dask', 'scheduler.json'), 'utf8')) as { address: string }
    expect(sched.address).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/)
    const key = path.join(runDir, 'dask', 'tls', 'key.pem')
    expect(statSync(key).uid).toBe(aliceUid)
    expect(statSync(key).mode & 0o077).toBe(0)
    const port = sched.address.split(':').pop()
    const plain = await pythonAs(
      OS.bob,
      `from distributed import Client\nClient('tcp://127.0.0.1:${port}', timeout=5)\nprint('CONNECTED')`,
    )
    expect(plain.out).not.toContain('CONNECTED')
    const noCert = await pythonAs(
      OS.bob,
      `from distributed import Client\nfrom distributed.security import Security\nClient('${sched.address}', timeout=5, security=Security(tls_ca_file='${path.join(runDir, 'dask', 'tls', 'cert.pem')}', tls_client_cert='${path.join(runDir, 'dask', 'tls', 'cert.pem')}', tls_client_key='${key}', require_encryption=True))\nprint('CONNECTED')`,
    )
    expect(noCert.out).not.toContain('CONNECTED')
    expect(noCert.out).toMatch(/Permission denied|No such file/)
    // with a certificate of his own, bob is not let in either: the scheduler checks it against the run's
    const own = await pythonAs(
      OS.bob,
      [
        'import subprocess, tempfile, os',
        'd = tempfile.mkdtemp()',
        "subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=controlroom-dask', '-keyout', d + '/k.pem', '-out', d + '/c.pem'], check=True, capture_output=True)",
        'from distributed import Client',
        'from distributed.security import Security',
        "sec = Security(tls_ca_file=d + '/c.pem', tls_client_cert=d + '/c.pem', tls_client_key=d + '/k.pem', require_encryption=True)",
        'try:',
        `    Client('${sched.address}', timeout=5, security=sec)`,
        "    print('CONNECTED')",
        'except Exception as e:',
        "    print('REFUSED', type(e).__name__)",
      ].join('\n'),
    )
    expect(own.out).toContain('REFUSED')
    expect(own.out).not.toContain('CONNECTED')

    await alice.run.cancel.mutate({ runId })
    await env.waitFor(runId, 60_000)
    const t = await taskOf(runId, 'Snoop')
    expect(t.state).toBe('succeeded')
    const log = await alice.run.log.query({ taskId: t.id, stream: 'stdout', limit: 1 << 20 })
    expect(log.text.split('\n')[0]).toBe(OS.alice)
    expect(log.text).toMatch(/Permission denied/)
    expect(log.text).not.toContain(secret)
    expect(log.text).not.toContain('scrypt$')
    expect(log.text).not.toContain(`server-token-${SUFFIX}`)
    expect(log.text).not.toMatch(/^CONTROLROOM_HOME=/m)
    expect(log.text).toMatch(new RegExp(`^USER=${OS.alice}$`, 'm'))
    // and nothing of the run is left running
    await until('the Dask processes to stop', async () => findProcesses(runDir).length === 0, 30_000)
  }, 180_000)

  it("never runs the workflow's interpreter as the server: not in the preview, and as alice at run start", async () => {
    const marker = `/tmp/cr-dask-python-${SUFFIX}.uid`
    const script = `/tmp/cr-dask-python-${SUFFIX}.sh`
    rmSync(marker, { force: true })
    // a program alice could have written (her task can write /tmp): it records who ran it
    writeFileSync(script, `#!/bin/sh\nid -u >> ${marker}\nexec ${PY} "$@"\n`)
    chmodSync(script, 0o755)
    chownSync(script, aliceUid, lookupOsUser(OS.alice)!.gid)
    const yaml = `name: dask python
execution:
  backend: dask
  strategy: local
  config: { python: ${script} }
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "true" }
`
    await alice.plan.preview.mutate({ yaml })
    expect(existsSync(marker) ? readFileSync(marker, 'utf8') : '').not.toMatch(/^0$/m)
    const runId = await startRun(alice, yaml, 'dask python')
    expect(await env.waitFor(runId, 90_000)).toBe('succeeded')
    const uids = readFileSync(marker, 'utf8').trim().split('\n')
    expect(uids.length).toBeGreaterThan(0)
    expect(new Set(uids)).toEqual(new Set([String(aliceUid)]))
    rmSync(marker, { force: true })
    rmSync(script, { force: true })
  }, 120_000)

  it("a retried task's directory swapped for a link: the server writes and chowns nothing through it", async () => {
    const target = `/tmp/cr-swap-target-${SUFFIX}`
    const marker = `/tmp/cr-swap-marker-${SUFFIX}`
    rmSync(target, { recursive: true, force: true })
    rmSync(marker, { force: true })
    execFileSync('mkdir', ['-m', '0755', target])
    // attempt 1 tries to move its directory away and leave a link to a root-owned directory, and
    // fails: the engine then writes attempt 2's spec into "its" directory, as root. tasks/ is
    // root's (0711), so the move is refused and attempt 2 finds its own directory
    const yaml = `name: swap
execution:
  backend: dask
  strategy: local
  config: { python: ${PY} }
analysis:
  stages:
    - id: Swap
      op: shell
      params:
        command: "if [ ! -e ${marker} ]; then touch ${marker}; d=$CONTROLROOM_TASK_DIR; mv $d $d.old; ln -s ${target} $d; exit 1; fi; echo second"
      execution:
        retries: 1
`
    const runId = await startRun(alice, yaml, 'swap')
    await env.waitFor(runId, 90_000)
    const t = await taskOf(runId, 'Swap')
    expect(t.attempt).toBe(1) // attempts count from 0: this is the retry
    expect(t.state).toBe('succeeded')
    expect(statSync(target).uid).toBe(0)
    expect(readdirSync(target)).toEqual([])
    expect(existsSync(marker)).toBe(true) // the attack was tried
    const log = await alice.run.log.query({ taskId: t.id, stream: 'stderr', limit: 1 << 20 })
    expect(log.text).toMatch(/Permission denied/)
    rmSync(target, { recursive: true, force: true })
    rmSync(marker, { force: true })
  }, 120_000)

  it('refuses an existing scheduler (scheduler_address), and says why', async () => {
    const yaml = `name: shared scheduler
execution:
  backend: dask
  config: { scheduler_address: "tcp://127.0.0.1:8786" }
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "true" }
`
    const w = await alice.workflow.saveVersion.mutate({ yaml, name: 'shared' })
    const e = await alice.run.start.mutate({ versionId: w.version.id }).catch((x) => x)
    expect(e.data?.code).toBe('PRECONDITION_FAILED')
    expect(e.message).toMatch(/existing Dask scheduler tcp:\/\/127\.0\.0\.1:8786.*remove scheduler_address/)
  })
})
