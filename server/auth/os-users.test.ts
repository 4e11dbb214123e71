/**
 * Users mode with real OS users (created here with useradd, removed after), over real HTTP (the
 * proxy gate + the tRPC route handler) and the real run engine.
 *
 *   ownership   every mutation as the owner, another user and an admin (and every way to start a
 *               run: run.start, run.rerunFrom, overview.launch, overview.resume)
 *   isolation   a task runs as its account's OS user and cannot read the session secret, the
 *               users list or the database, so it cannot forge an admin session
 *   layout      the run directory, tasks/ and the spool are root's: a task swapping its spool for a
 *               link, or planting links in tasks/, makes the server create nothing elsewhere
 *   no-follow   logs, result.json, artifacts are read only from the run user's own files
 *   hep         a partitioned hep run works as the account; a restart re-attaches its task
 *   refusal     an account without an OS user cannot run tasks (and says why)
 *               (Slurm and HTCondor as the account's OS user: os-users.batch.test.ts; Dask: os-users.dask*.test.ts)
 *
 * Needs root (useradd; the server switches users). Not root: the suite fails and says so.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RunEngine, setEngine } from '../execution/engine.ts'
import { runDirFor } from '../execution/paths.ts'
import { reconcileRuns } from '../execution/reconcile.ts'
import { hepTestDataDir } from '../hep/testdata.ts'
import { createSessionValue } from './core.ts'
import {
  type Client,
  codeOf,
  type OsUsers,
  startOsUsers,
  taskOf as firstTask,
  until,
  startRun,
} from './os-users-testing.ts'

const SUFFIX = String(process.pid)

const OWNED = `name: owned
analysis:
  stages:
    - id: F
      op: shell
      params: { command: "exit 3" }
      needs: []
    - id: S
      op: shell
      params: { command: "sleep 60" }
      needs: []
`

describe('users mode with real OS users', () => {
  let u: OsUsers
  let env: OsUsers['env']
  let h: OsUsers['h']
  let OS: Record<string, string>
  let alice: Client
  let bob: Client
  let admin: Client
  let nobody: Client

  beforeAll(async () => {
    u = await startOsUsers({
      prefix: 'cr',
      accounts: [{ name: 'alice' }, { name: 'bob' }, { name: 'admin', admin: true }, { name: 'nobody', osUser: false }],
    })
    ;({ env, h, os: OS } = u)
    alice = u.client('alice')
    bob = u.client('bob')
    admin = u.client('admin')
    nobody = u.client('nobody')
  }, 60_000)

  afterAll(async () => {
    await u?.close()
  }, 60_000)

  const taskOf = (runId: string, stage: string) => firstTask(alice, runId, stage)

  it('workflow changes: the owner and an admin may, another user may not (and nothing is written)', async () => {
    const w = await alice.workflow.saveVersion.mutate({ yaml: OWNED, name: "Alice's" })
    const id = w.workflow.id
    // another user
    expect(await codeOf(bob.workflow.rename.mutate({ id, name: 'mine' }))).toBe('FORBIDDEN')
    expect(await codeOf(bob.workflow.archive.mutate({ id, archived: true }))).toBe('FORBIDDEN')
    expect(await codeOf(bob.workflow.delete.mutate({ id }))).toBe('FORBIDDEN')
    const save = bob.workflow.saveVersion.mutate({
      workflowId: id,
      parentVersionId: w.version.id,
      yaml: OWNED.replace('exit 3', 'exit 4'),
    })
    expect(await codeOf(save)).toBe('FORBIDDEN')
    const after = await alice.workflow.get.query({ id })
    expect(after.workflow).toMatchObject({ name: "Alice's", archived: false })
    expect(after.version?.id).toBe(w.version.id)
    // the owner (this was a 403 before: the actor's id was never filled in)
    expect((await alice.workflow.rename.mutate({ id, name: 'Renamed by Alice' })).name).toBe('Renamed by Alice')
    expect((await alice.workflow.archive.mutate({ id, archived: true })).archived).toBe(true)
    const v2 = await alice.workflow.saveVersion.mutate({
      workflowId: id,
      parentVersionId: w.version.id,
      yaml: OWNED.replace('exit 3', 'exit 4'),
    })
    expect(v2.version.number).toBe(2)
    // an admin
    expect((await admin.workflow.archive.mutate({ id, archived: false })).archived).toBe(false)
    const v3 = await admin.workflow.saveVersion.mutate({ workflowId: id, parentVersionId: v2.version.id, yaml: OWNED })
    expect(v3.version.author).toBe('admin')
    // duplicate is how another user gets their own copy
    const copy = await bob.workflow.duplicate.mutate({ id })
    expect(copy.workflow.owner).toBe('bob')
    expect(await codeOf(bob.workflow.delete.mutate({ id: copy.workflow.id }))).toBe('OK')
    expect(await codeOf(alice.workflow.delete.mutate({ id }))).toBe('OK')
  })

  it('run control: the owner and an admin may, another user may not', async () => {
    const w = await alice.workflow.saveVersion.mutate({ yaml: OWNED, name: 'runs' })
    const versionId = w.version.id
    expect(await codeOf(bob.run.start.mutate({ versionId }))).toBe('FORBIDDEN')
    const { runId } = await alice.run.start.mutate({ versionId })
    expect((await alice.run.get.query({ runId })).run).toBeTruthy()
    const F = await until('F to fail', async () => (await taskOf(runId, 'F')).state === 'failed' && taskOf(runId, 'F'))
    const S = await until('S to run', async () => (await taskOf(runId, 'S')).state === 'running' && taskOf(runId, 'S'))

    expect(await codeOf(bob.run.retryTask.mutate({ taskId: F.id }))).toBe('FORBIDDEN')
    expect(await codeOf(bob.run.cancelTask.mutate({ taskId: S.id }))).toBe('FORBIDDEN')
    expect(await codeOf(bob.run.cancel.mutate({ runId }))).toBe('FORBIDDEN')
    expect(await codeOf(bob.run.rerunFrom.mutate({ runId, stageId: 'F' }))).toBe('FORBIDDEN')
    expect((await taskOf(runId, 'S')).state).toBe('running')
    expect((await taskOf(runId, 'F')).attempt).toBe(F.attempt)

    expect(await codeOf(alice.run.retryTask.mutate({ taskId: F.id }))).toBe('OK')
    await until('F to be retried', async () => (await taskOf(runId, 'F')).attempt > F.attempt)
    expect(await codeOf(alice.run.cancelTask.mutate({ taskId: S.id }))).toBe('OK')
    await until('S cancelled', async () => (await taskOf(runId, 'S')).state === 'cancelled')
    await env.waitFor(runId)

    // the other ways to start a run: launch with parameters, fix and resume
    expect(await codeOf(bob.overview.launch.mutate({ versionId, parameters: [] }))).toBe('FORBIDDEN')
    expect(await codeOf(bob.overview.resume.mutate({ runId, versionId }))).toBe('FORBIDDEN')

    const re = await alice.run.rerunFrom.mutate({ runId, stageId: 'F' })
    expect(await codeOf(bob.run.cancel.mutate({ runId: re.runId }))).toBe('FORBIDDEN')
    await until('the re-run S to run', async () => (await taskOf(re.runId, 'S')).state === 'running')
    expect(await codeOf(admin.run.cancel.mutate({ runId: re.runId }))).toBe('OK')
    await env.waitFor(re.runId)
    expect((await taskOf(re.runId, 'S')).state).toBe('cancelled')
    // an admin may start a run of anyone's workflow (the run is the admin's)
    const byAdmin = await admin.run.start.mutate({ versionId })
    expect(await codeOf(alice.run.cancel.mutate({ runId: byAdmin.runId }))).toBe('FORBIDDEN')
    expect(await codeOf(admin.run.cancel.mutate({ runId: byAdmin.runId }))).toBe('OK')
    await env.waitFor(byAdmin.runId)
  }, 90_000)

  it("runs a task as its account's OS user, who cannot read the server's secrets", async () => {
    const home = env.home
    const secret = readFileSync(path.join(home, 'session-secret'), 'utf8').trim()
    const yaml = `name: snoop
analysis:
  stages:
    - id: Snoop
      op: shell
      params:
        command: "id -un; cat ${home}/session-secret ${home}/users.json ${env.t.url.replace('file:', '')} 2>&1; env; true"
`
    const runId = await startRun(alice, yaml, 'snoop')
    await env.waitFor(runId)
    const t = await taskOf(runId, 'Snoop')
    const log = await alice.run.log.query({ taskId: t.id, stream: 'stdout', limit: 1 << 20 })
    expect(log.text.split('\n')[0]).toBe(OS.alice)
    expect(log.text).toMatch(/Permission denied/)
    expect(log.text).not.toContain(secret)
    expect(log.text).not.toContain('scrypt$')
    // and the secret is what forging an admin session would take
    const forged = await createSessionValue('admin')
    const port = new URL(h.url).port
    expect(
      (await fetch(`${h.url}/api/trpc/auth.me`, { headers: { cookie: `cr_session_${port}=${forged}` } })).status,
    ).toBe(200)
    for (const f of ['session-secret', 'users.json']) expect(statSync(path.join(home, f)).mode & 0o077).toBe(0)
  }, 60_000)

  it("a task's links are never followed by the server: not to read its log, not to write its executor's stop file", async () => {
    const home = env.home
    const secret = readFileSync(path.join(home, 'session-secret'), 'utf8').trim()
    const planted = `/tmp/cr-planted-${SUFFIX}`
    rmSync(planted, { force: true })
    // the task swaps its logs for links to the session secret and the users list, and plants a
    // dangling link as its executor's stop file (the server writes it when the run ends)
    const yaml = `name: links
analysis:
  stages:
    - id: Link
      op: shell
      params:
        command: "echo before; echo before >&2; cd $CONTROLROOM_TASK_DIR; rm -f stdout.log stderr.log; ln -s ${home}/session-secret stdout.log; ln -s ${home}/users.json stderr.log; for p in $(pgrep -u $(id -u) -f 'executor[.]mjs'); do ln -s ${planted} $(readlink /proc/$p/cwd)/stop; done; true"
`
    const runId = await startRun(alice, yaml, 'links')
    // the task's output reaches its logs through files opened at their first write (here before the
    // swap); a later open follows the link as alice, is refused, and the task fails. Either end is
    // right; what matters is that nothing crosses the link.
    expect(['succeeded', 'failed']).toContain(await env.waitFor(runId))
    const t = await taskOf(runId, 'Link')
    expect(lstatSync(path.join(runDirFor(runId), 'tasks', t.id, 'stdout.log')).isSymbolicLink()).toBe(true)
    for (const stream of ['stdout', 'stderr'] as const) {
      const log = await alice.run.log.query({ taskId: t.id, stream, limit: 1 << 20 })
      expect(log.text).not.toContain(secret)
      expect(log.text).not.toContain('scrypt$')
      const res = await fetch(`${h.url}/runs/${runId}/tasks/${t.id}/log?stream=${stream}`, {
        headers: { authorization: u.authorization('alice') },
      })
      const body = await res.text()
      expect(body).not.toContain(secret)
      expect(body).not.toContain('scrypt$')
    }
    // the link itself is there (the attack happened), and root wrote nothing through it
    expect(readdirSync(path.join(runDirFor(runId), 'executors')).length).toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 500))
    expect(existsSync(planted)).toBe(false)
  }, 60_000)

  it("a task cannot make the server create or write anything outside the run: the run directory, tasks/ and the spool are root's", async () => {
    // the attack: alice's task swaps its pool's spool directory for a link to a directory of
    // root's, plants links in tasks/ and the run directory, and kills its executor. Its retry needs
    // a new executor, whose directories root makes (and hands to alice) and whose entry root writes:
    // through the link, that was in the target, owned by alice. Now those directories are root's
    // (0711): alice can rename or plant nothing there, and root never follows what she can write.
    const target = `/tmp/cr-swap-target-${SUFFIX}`
    rmSync(target, { recursive: true, force: true })
    mkdirSync(target, { mode: 0o755 })
    const yaml = `name: swap
analysis:
  stages:
    - id: Swap
      op: shell
      execution: { retries: 1 }
      params:
        command: "cd $CONTROLROOM_TASK_DIR/../..; echo attempt; if [ ! -L executors/pool-default ]; then ln -s ${target} tasks/planted; ln -s ${target} planted; mv executors/pool-default executors/moved && ln -s ${target} executors/pool-default && kill -9 $(pgrep -u $(id -u) -f 'executor[.]mjs'); fi; true"
`
    const runId = await startRun(alice, yaml, 'swap')
    await env.waitFor(runId)
    const runDir = runDirFor(runId)
    const t = await taskOf(runId, 'Swap')
    const log = await alice.run.log.query({ taskId: t.id, stream: 'stderr', limit: 1 << 20 })
    // nothing was created through the link: not an executor's directories, not a spool entry
    expect(readdirSync(target)).toEqual([])
    for (const p of ['tasks/planted', 'planted', 'executors/moved'])
      expect(existsSync(path.join(runDir, p)), `${p} (stderr: ${log.text})`).toBe(false)
    expect(log.text).toMatch(/Permission denied/)
    // the layout: root's directories alice cannot write, her own task directory
    for (const d of ['', 'tasks', 'executors', 'executors/pool-default']) {
      const st = statSync(path.join(runDir, d))
      expect(st.uid, d).toBe(0)
      expect(st.mode & 0o777, d).toBe(0o711)
    }
    expect(statSync(path.join(runDir, 'tasks', t.id)).uid).toBe(u.uidOf('alice'))
    expect(t.state).toBe('succeeded')
    rmSync(target, { recursive: true, force: true })
  }, 60_000)

  it("the server reads a task's result.json only from its own file: a link to another account's result is not taken", async () => {
    // bob's task succeeds; alice's task links its result.json to bob's, then kills its executor and
    // itself: the server, finding the executor gone, takes the result.json there as the task's end.
    // Read through the link (as root), bob's result became alice's: her task "succeeded".
    const b = await bob.workflow.saveVersion.mutate({
      yaml: 'name: bob\nanalysis:\n  stages:\n    - id: Ok\n      op: shell\n      params: { command: "echo ok" }\n',
      name: 'bob ok',
    })
    const bobRun = await bob.run.start.mutate({ versionId: b.version.id })
    expect(await env.waitFor(bobRun.runId)).toBe('succeeded')
    const bobTask = await firstTask(bob, bobRun.runId)
    const bobResult = path.join(runDirFor(bobRun.runId), 'tasks', bobTask.id, 'result.json')
    expect(JSON.parse(readFileSync(bobResult, 'utf8')).exitCode).toBe(0)
    const yaml = `name: steal
analysis:
  stages:
    - id: Steal
      op: shell
      params:
        command: "ln -s ${bobResult} $CONTROLROOM_TASK_DIR/result.json; kill -9 $(pgrep -u $(id -u) -f 'executor[.]mjs'); kill -9 -$(ps -o pgid= $$ | tr -d ' ')"
`
    const runId = await startRun(alice, yaml, 'steal')
    expect(await env.waitFor(runId)).toBe('failed')
    const t = await taskOf(runId, 'Steal')
    expect(lstatSync(path.join(runDirFor(runId), 'tasks', t.id, 'result.json')).isSymbolicLink()).toBe(true)
    expect(t.exitCode).not.toBe(0)
    expect(t.reason).toMatch(/lost|vanished|executor/)
  }, 60_000)

  it("an artifact is served only from the run user's own file: one that is not (a swap won the race) is not read", async () => {
    // alice's task writes a file and a hep manifest naming it as an artifact of her run
    const manifest = {
      version: 1,
      stage: 'S',
      op: 'hep.hist',
      dataset: 'D',
      partitions: 1,
      events: 0,
      selected: 0,
      artifacts: [{ name: 'h', kind: 'file', mime: 'application/json', path: 'hep/S/D/h.json', size: 12, meta: {} }],
    }
    const b64 = Buffer.from(JSON.stringify(manifest)).toString('base64')
    const yaml = `name: artifact
analysis:
  stages:
    - id: Art
      op: shell
      params:
        command: "d=$CONTROLROOM_TASK_DIR/../../hep/S/D; mkdir -p $d; echo alice-file > $d/h.json; echo ${b64} | base64 -d > $d/artifacts.json"
`
    const runId = await startRun(alice, yaml, 'artifact')
    expect(await env.waitFor(runId)).toBe('succeeded')
    const [art] = await alice.run.artifacts.query({ runId })
    const get = () =>
      fetch(`${h.url}/runs/${runId}/artifacts/${art!.id}`, { headers: { authorization: u.authorization('alice') } })
    const own = await get()
    expect(own.status).toBe(200)
    expect(await own.text()).toBe('alice-file\n')
    // the path was checked, then the file became one that is not alice's (as when her task swaps
    // it for a link to a file of root's after the server's check): the server must not send it
    const file = path.join(runDirFor(runId), 'hep/S/D/h.json')
    rmSync(file)
    writeFileSync(file, `root-only-${SUFFIX}`, { mode: 0o600 })
    const swapped = await get()
    expect(await swapped.text()).not.toContain(`root-only-${SUFFIX}`)
    expect(swapped.status).toBe(404)
  }, 60_000)

  it('a partitioned hep run works as the account: partitions, outputs, manifests and artifacts in its own directories', async () => {
    const file = path.join(hepTestDataDir(), 'uproot-Zmumu.root')
    const yaml = `name: hep as alice
execution:
  config: { workers: 2, chunk_size: 1152 }
data:
  datasets:
    - { name: zmumu, files: [${file}], treeName: events }
analysis:
  stages:
    - id: hist
      op: hep.hist
      params:
        histograms:
          - { name: E1, expr: E1, bins: { n: 10, low: 0, high: 200 } }
`
    const runId = await startRun(alice, yaml, 'hep as alice')
    expect(await env.waitFor(runId, 120_000)).toBe('succeeded')
    const { items } = await alice.run.tasks.query({ runId })
    expect(items.filter((t) => t.stageId === 'hist')).toHaveLength(2)
    const arts = await alice.run.artifacts.query({ runId })
    const e1 = arts.find((a) => a.name === 'E1.json')
    expect(e1, JSON.stringify(arts.map((a) => a.name))).toBeTruthy()
    const res = await fetch(`${h.url}/runs/${runId}/artifacts/${e1!.id}`, {
      headers: { authorization: u.authorization('alice') },
    })
    expect(res.status).toBe(200)
    const hist = (await res.json()) as { entries: number; missing?: number }
    expect(hist.entries + (hist.missing ?? 0)).toBe(2304)
    expect(statSync(path.join(runDirFor(runId), 'hep')).uid).toBe(u.uidOf('alice'))
  }, 150_000)

  it("a task flooding its executor's report file with one endless line is ignored, not buffered", async () => {
    const yaml = `name: flood
analysis:
  stages:
    - id: Flood
      op: shell
      params:
        command: "for p in $(pgrep -u $(id -u) -f 'executor[.]mjs'); do f=$(readlink /proc/$p/cwd)/events.jsonl; head -c 3000000 /dev/zero | tr '\\\\0' a >> $f; echo >> $f; done; echo done"
`
    const runId = await startRun(alice, yaml, 'flood')
    expect(await env.waitFor(runId)).toBe('succeeded')
    const warned = env.events.filter(
      (e) => e.runId === runId && JSON.stringify(e.payload).includes('ignored a report line longer than'),
    )
    expect(warned.length).toBeGreaterThan(0)
  }, 60_000)

  it('refuses to run tasks that could not be isolated, and says why', async () => {
    const w = await nobody.workflow.saveVersion.mutate({ yaml: OWNED, name: 'no OS user' })
    const e = await nobody.run.start.mutate({ versionId: w.version.id }).catch((x) => x)
    expect(e.data?.code).toBe('PRECONDITION_FAILED')
    expect(e.message).toMatch(/account "nobody" has no OS user.*set "osUser"/)
    // Slurm and HTCondor jobs are submitted as the account's OS user: os-users.batch.test.ts; Dask
    // runs as it, and an existing Dask scheduler is refused: os-users.dask.test.ts
  })

  // last: it replaces the engine
  it("a server restart mid-run re-attaches the account's running task in the root-owned layout: not re-run, nothing lost", async () => {
    const yaml = `name: restart
analysis:
  stages:
    - id: Long
      op: shell
      params: { command: "for i in 1 2 3 4 5 6 7 8; do echo line $i; sleep 0.25; done" }
`
    const runId = await startRun(alice, yaml, 'restart')
    await until('Long to run', async () => (await taskOf(runId, 'Long')).state === 'running')
    // the server goes away without stopping anything (as after kill -9); a new one takes over
    await env.engine.shutdown({ detach: true })
    const engine2 = new RunEngine({ db: env.t.db, url: env.t.url, log: () => {} })
    setEngine(engine2)
    try {
      const report = await reconcileRuns({ engine: engine2 })
      expect(report.adopted).toContain(runId)
      expect(await engine2.waitForRun(runId)).toBe('succeeded')
      const t = await taskOf(runId, 'Long')
      expect(t.attempt).toBe(0)
      const log = await alice.run.log.query({ taskId: t.id, stream: 'stdout', limit: 1 << 20 })
      expect(log.text).toBe(Array.from({ length: 8 }, (_, i) => `line ${i + 1}\n`).join(''))
    } finally {
      await engine2.shutdown({ detach: false })
      setEngine(env.engine)
    }
  }, 60_000)
})
