/**
 * Users mode on batch systems, with real OS users (created here with useradd, removed after), over
 * real HTTP (the proxy gate + the tRPC route handler) and the real run engine:
 *
 *   Slurm     the REAL local Slurm (it runs as root with munge): alice's run is submitted as alice,
 *             so Slurm records her as the job's user and runs the job as her (`id -u` in the job);
 *             her job cannot read bob's run files, the session secret, the users list or the
 *             database, and sees none of the server's secrets in its environment; her run's
 *             directory, job script and job logs are hers alone; bob cannot scancel her job.
 *   HTCondor  the labelled format-faithful simulator of the HTCondor tools (HTCondor is not packaged
 *             here): condor_submit, condor_q and condor_rm are run as alice (their uid recorded by a
 *             wrapper), and the simulator's queue names her as the job's Owner.
 *   refusal   an ssh login host or credentials in users mode are refused, with the reason.
 *
 * Needs root (useradd; the server switches users). Not root: the suite fails and says so.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FakeCondor } from '../execution/strategies/htcondor/__fixtures__/fake-condor/index.ts'
import { ensureSlurm } from '../execution/strategies/slurm/testing.ts'
import { AsUserTransport } from '../execution/transport/index.ts'
import { lookupOsUser } from './os-user.ts'
import { mustHave } from '../must.ts'
import { type Client, installCondorForUsers, type OsUsers, startOsUsers, until } from './os-users-testing.ts'

const SUFFIX = String(process.pid)
const BOB_SECRET = `bob-private-${SUFFIX}`
const SERVER_SECRET = `server-cloud-key-${SUFFIX}`

const uidOf = (name: string) => lookupOsUser(name)!.uid

/** every file and directory under dir (the run directory of a run) */
function walk(dir: string): string[] {
  const out = [dir]
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...walk(p))
    else out.push(p)
  }
  return out
}

describe('users mode on Slurm and HTCondor, as the account’s OS user', () => {
  let u: OsUsers
  let env: OsUsers['env']
  let OS: Record<'alice' | 'bob', string>
  let alice: Client
  let bob: Client
  let fake: FakeCondor
  const mySlurmJobs: string[] = []

  beforeAll(async () => {
    ensureSlurm()
    u = await startOsUsers({
      prefix: 'crb',
      accounts: [{ name: 'alice' }, { name: 'bob' }],
      env: { AWS_SECRET_ACCESS_KEY: SERVER_SECRET, CONTROLROOM_TOKEN: `dashboard-token-${SUFFIX}` },
      before: (env) => {
        const condor = installCondorForUsers(env.home)
        fake = condor.fake
        writeFileSync(
          path.join(env.home, 'site.yaml'),
          ['slurm:', '  pollIntervalMs: 250', '  maxPollIntervalMs: 1000', ...condor.siteLines, ''].join('\n'),
        )
      },
    })
    env = u.env
    OS = mustHave(u.os, ['alice', 'bob'], 'the OS users of the accounts')
    alice = u.client('alice')
    bob = u.client('bob')
  }, 60_000)

  afterAll(async () => {
    if (mySlurmJobs.length) {
      try {
        execFileSync('scancel', mySlurmJobs, { stdio: 'ignore' })
      } catch {
        /* already ended */
      }
    }
    await u?.close()
  }, 60_000)

  async function onlyTask(c: Client, runId: string) {
    const { items } = await c.run.tasks.query({ runId })
    return items[0]!
  }
  async function runDirOf(runId: string) {
    return (await env.t.db.run.findUnique({ where: { id: runId } }))!.runDir!
  }

  it("submits an account's Slurm jobs as its OS user, and its job reads nothing of another account's or the server's", async () => {
    const home = env.home
    // bob's run leaves a private file in its run directory
    const bobYaml = `name: bob-private
execution: { strategy: slurm }
analysis:
  stages:
    - id: Keep
      op: shell
      params: { command: "echo ${BOB_SECRET} > private.txt; echo ${BOB_SECRET}" }
`
    const b = await bob.workflow.saveVersion.mutate({ yaml: bobYaml, name: 'bob private' })
    const bobRun = await bob.run.start.mutate({ versionId: b.version.id })
    expect(await env.waitFor(bobRun.runId, 90_000)).toBe('succeeded')
    const bobDir = await runDirOf(bobRun.runId)
    const bobTask = await onlyTask(bob, bobRun.runId)
    const bobTaskDir = path.join(bobDir, 'tasks', bobTask.id)
    expect(readFileSync(path.join(bobTaskDir, 'private.txt'), 'utf8')).toContain(BOB_SECRET)

    const db = env.t.url.replace('file:', '')
    const aliceYaml = `name: snoop
execution: { strategy: slurm }
analysis:
  stages:
    - id: Snoop
      op: shell
      params:
        command: "id -u; id -un; cat ${bobTaskDir}/private.txt ${bobTaskDir}/stdout.log 2>&1; ls ${bobDir} 2>&1; cat ${home}/session-secret ${home}/users.json ${db} 2>&1; env; true"
`
    const a = await alice.workflow.saveVersion.mutate({ yaml: aliceYaml, name: 'snoop' })
    const aliceRun = await alice.run.start.mutate({ versionId: a.version.id })
    expect(await env.waitFor(aliceRun.runId, 90_000)).toBe('succeeded')
    const t = await onlyTask(alice, aliceRun.runId)
    expect(t.batchJobId).toMatch(/^\d+/)
    mySlurmJobs.push(t.batchJobId!)
    const log = (await alice.run.log.query({ taskId: t.id, stream: 'stdout', limit: 1 << 20 })).text
    const lines = log.split('\n')
    // the job ran as alice's OS user, and Slurm records her as its owner
    expect(lines[0]).toBe(String(uidOf(OS.alice)))
    expect(lines[1]).toBe(OS.alice)
    expect(execFileSync('scontrol', ['show', 'job', '-o', t.batchJobId!], { encoding: 'utf8' })).toContain(
      `UserId=${OS.alice}(${uidOf(OS.alice)})`,
    )
    // bob's files, the server's secrets, users list and database: refused
    expect(log.match(/Permission denied/g)?.length ?? 0).toBeGreaterThanOrEqual(5)
    expect(log).not.toContain(BOB_SECRET)
    expect(log).not.toContain(readFileSync(path.join(home, 'session-secret'), 'utf8').trim())
    expect(log).not.toContain('scrypt$')
    // the job's environment is built from an allow-list: none of the server's secrets
    expect(log).toMatch(/^HOME=\/nonexistent$/m)
    expect(log).toMatch(new RegExp(`^USER=${OS.alice}$`, 'm'))
    expect(log).not.toContain(SERVER_SECRET)
    expect(log).not.toContain(`dashboard-token-${SUFFIX}`)
    expect(log).not.toMatch(/^CONTROLROOM_HOME=/m)

    // her run's files (job script, Slurm's job logs, task logs) are hers alone; the run directory
    // and tasks/ are root's, which she passes through but cannot list or change (0711)
    const aliceDir = await runDirOf(aliceRun.runId)
    const files = walk(aliceDir)
    expect(files.some((f) => /\/slurm\/.*\.sh$/.test(f))).toBe(true)
    expect(files.some((f) => /\/slurm\/.*\.out$/.test(f))).toBe(true)
    const rootDirs = [aliceDir, path.join(aliceDir, 'tasks')]
    for (const f of files) {
      const st = statSync(f)
      if (rootDirs.includes(f)) {
        expect(st.uid, f).toBe(0)
        expect(st.mode & 0o777, f).toBe(0o711)
        continue
      }
      expect(st.mode & 0o077, f).toBe(0)
      expect(st.uid, f).toBe(uidOf(OS.alice))
    }
    // the job script view reads only alice's own file: a file at the checked path that is not hers
    // (as when her job swaps it for a link to a file of root's after the check) is not shown
    const shown = await alice.run.jobScript.query({ taskId: t.id })
    expect(shown.files.length).toBeGreaterThan(0)
    const script = path.join(aliceDir, shown.files[0]!.path)
    rmSync(script)
    writeFileSync(script, `root-only-${SUFFIX}`, { mode: 0o600 })
    const refused = await alice.run.jobScript.query({ taskId: t.id }).catch((e) => e)
    expect(JSON.stringify(refused)).not.toContain(`root-only-${SUFFIX}`)
    expect(refused.data?.code).toBe('NOT_FOUND')
  }, 200_000)

  it("cancels an account's Slurm job as that account, and another account cannot cancel it", async () => {
    const yaml = `name: long
execution: { strategy: slurm }
analysis:
  stages:
    - id: Sleep
      op: shell
      params: { command: "sleep 120" }
`
    const a = await alice.workflow.saveVersion.mutate({ yaml, name: 'long' })
    const { runId } = await alice.run.start.mutate({ versionId: a.version.id })
    const t = await until('the job to be submitted', async () => {
      const x = await onlyTask(alice, runId)
      return x.batchJobId ? x : null
    })
    mySlurmJobs.push(t.batchJobId!)
    // bob's own batch commands cannot touch it: Slurm refuses
    const asBob = new AsUserTransport(lookupOsUser(OS.bob)!)
    const r = await asBob.run(['scancel', t.batchJobId!], { timeoutMs: 30_000 })
    expect(`${r.code} ${r.stderr}`).toMatch(/[1-9].*(Access\/permission denied|Invalid user)/i)
    expect(execFileSync('squeue', ['-h', '-j', t.batchJobId!, '-o', '%T'], { encoding: 'utf8' }).trim()).toMatch(
      /PENDING|RUNNING|CONFIGURING/,
    )
    await alice.run.cancel.mutate({ runId })
    expect(await env.waitFor(runId, 60_000)).toBe('cancelled')
    await until('Slurm to end the job', async () => {
      const s = execFileSync('squeue', ['-h', '-j', t.batchJobId!, '-o', '%T'], { encoding: 'utf8' }).trim()
      return s === '' || /CANCELLED|COMPLETING/.test(s)
    })
  }, 120_000)

  it("runs an account's HTCondor tools as its OS user (the simulator's queue names it the owner)", async () => {
    const yaml = `name: condor
execution: { strategy: htcondor }
analysis:
  stages:
    - id: Who
      op: shell
      params: { command: "id -u" }
`
    const a = await alice.workflow.saveVersion.mutate({ yaml, name: 'condor' })
    const { runId } = await alice.run.start.mutate({ versionId: a.version.id })
    const state = await env.waitFor(runId, 90_000)
    const t = await onlyTask(alice, runId)
    expect(state, JSON.stringify(t)).toBe('succeeded')
    const out = (await alice.run.log.query({ taskId: t.id, stream: 'stdout', limit: 4096 })).text.trim()
    expect(out).toBe(String(uidOf(OS.alice)))
    // a cancel is condor_rm as alice too
    const long = await alice.workflow.saveVersion.mutate({
      yaml: yaml.replace('id -u', 'sleep 120'),
      name: 'condor long',
    })
    const second = await alice.run.start.mutate({ versionId: long.version.id })
    await until('the job to run', async () => (await onlyTask(alice, second.runId)).state === 'running')
    await alice.run.cancel.mutate({ runId: second.runId })
    expect(await env.waitFor(second.runId, 60_000)).toBe('cancelled')
    const calls = readFileSync(path.join(fake.home, 'uids.log'), 'utf8').trim().split('\n')
    expect(calls.some((l) => / condor_rm /.test(l))).toBe(true)
    const submits = calls.filter((l) => / condor_submit /.test(l))
    expect(submits.length).toBeGreaterThan(0)
    for (const l of calls.filter((x) => / condor_(submit|q|rm) /.test(x)))
      expect(l.split(' ')[0], l).toBe(String(uidOf(OS.alice)))
    const owners = [...fake.state().queue, ...fake.state().history].map((j) => j.ad.Owner)
    expect(owners).toContain(OS.alice)
    // the submit description and job script are alice's, 0600/0700 (umask of her commands)
    const condorFiles = walk(path.join(await runDirOf(runId), 'condor'))
    for (const f of condorFiles) expect(statSync(f).uid, f).toBe(uidOf(OS.alice))
  }, 120_000)

  it('refuses what users mode cannot isolate, and says why', async () => {
    const site = readFileSync(path.join(env.home, 'site.yaml'), 'utf8')
    try {
      writeFileSync(path.join(env.home, 'site.yaml'), `${site}ssh: { host: login.example.org }\n`)
      const s = await alice.workflow.saveVersion.mutate({
        yaml: 'name: s\nexecution: { strategy: slurm }\nanalysis:\n  stages:\n    - { id: A, op: shell, params: { command: "true" } }\n',
        name: 'via ssh',
      })
      const e = await alice.run.start.mutate({ versionId: s.version.id }).catch((x) => x)
      expect(e.data?.code).toBe('PRECONDITION_FAILED')
      expect(e.message).toMatch(/ssh to login\.example\.org.*per-account ssh keys are not supported/)
    } finally {
      writeFileSync(path.join(env.home, 'site.yaml'), site)
    }
    const c = await alice.workflow.saveVersion.mutate({
      yaml: 'name: c\nexecution:\n  strategy: slurm\n  credentials: [{ kind: x509 }]\nanalysis:\n  stages:\n    - { id: A, op: shell, params: { command: "true" } }\n',
      name: 'with credentials',
    })
    const ce = await alice.run.start.mutate({ versionId: c.version.id }).catch((x) => x)
    expect(ce.data?.code).toBe('PRECONDITION_FAILED')
    expect(ce.message).toMatch(/needs credentials.*are its own.*would give them away/)
  })
})
