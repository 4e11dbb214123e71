/**
 * The `htcondor` strategy through the engine's Strategy contract and in HTCondor-specific
 * scenarios, against the FORMAT-FAITHFUL SIMULATOR of the HTCondor command line tools
 * (__fixtures__/fake-condor: NOT HTCondor, which is not packaged here; it answers with the
 * documented output formats and writes the documented job event log). Every command goes through
 * the real CommandTransport (LocalTransport) and the simulator's wrappers on site htcondor.binDir.
 * The jobs themselves really run (bash, the real task runtime for the contract suite).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { defaultSiteConfig } from '../../../site/load.ts'
import type { SiteConfig } from '../../../site/schema.ts'
import { compileWorkflow } from '../../../workflow/index.ts'
import type { ExecutionPlan, PlanPool } from '../../../workflow/types.ts'
import { LocalTransport } from '../../transport/local.ts'
import type { JobRef, JobStatus, StrategyRunContext, StrategySession, TaskLaunch } from '../../types.ts'
import { contractPlan, runStrategyContract } from '../contract.ts'
import { createHTCondorStrategy, type HTCondorStrategyOptions } from '../htcondor.ts'
import {
  gridProxyInit,
  makePki,
  makeTokenKey,
  scitokensCreate,
  vomsProxyFake,
} from '../../../credentials/__fixtures__/mkcreds.ts'
import { makePixiPackTar, pixiUnpackBin } from '../../environments/__fixtures__/archives.ts'
import { installFakeCondor, type FakeCondor } from './__fixtures__/fake-condor/index.ts'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..')
const root = mkdtempSync(path.join(os.tmpdir(), 'cr-htcondor-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

function siteFor(
  fake: FakeCondor,
  htcondor: Record<string, unknown> = {},
  extraEnv: Record<string, string> = {},
): SiteConfig {
  const s = defaultSiteConfig(path.join(root, 'home'))
  return {
    ...s,
    paths: { ...s.paths, runs: path.join(root, 'runs') },
    htcondor: {
      binDir: fake.binDir,
      env: { ...fake.env, ...extraEnv },
      pollIntervalMs: 100,
      maxPollIntervalMs: 400,
      ...htcondor,
    },
  }
}

// ------------------------------------------------------------------ the engine's contract suite

const contractFake = installFakeCondor(path.join(root, 'contract'))
contractFake.control({ mode: 'auto' })
const contractSite = siteFor(contractFake)

runStrategyContract({
  name: 'htcondor',
  create: () =>
    createHTCondorStrategy({ site: contractSite, pollIntervalMs: 100, maxPollIntervalMs: 400, lostGraceMs: 5000 }),
  context: { site: contractSite },
  impossiblePool: { gpus: 64 },
  samples: [
    { external: { state: 'IDLE' }, expect: { worker: 'pending-in-queue', task: 'queued', final: false } },
    { external: { state: '2' }, expect: { worker: 'running', task: 'running' } },
    { external: { state: 'COMPLETED', exitCode: 0 }, expect: { worker: 'gone', task: 'succeeded', final: true } },
    { external: { state: 'COMPLETED', exitCode: 1 }, expect: { task: 'failed', final: true, reason: 'exit code 1' } },
    { external: { state: 'COMPLETED', signal: 9 }, expect: { task: 'failed', reason: 'killed by SIGKILL (signal 9)' } },
    {
      external: { state: 'REMOVED', reason: 'via condor_rm (by user alice)' },
      expect: { task: 'cancelled', final: true },
    },
    // a held job is not pending: its own reason, and a system hold is hopeless (the task fails with it)
    {
      external: { state: 'HELD', reason: 'held: Transfer input files failure (HoldReasonCode 13 TransferInputError)' },
      expect: { worker: 'pending-in-queue', final: false, hopeless: true },
    },
  ],
  jobTimeoutMs: 30_000,
  ghostRef: (stored) => ({
    ...stored,
    taskId: `${stored.taskId}-ghost`,
    jobId: '999999.0',
    arrayIndex: 0,
    data: { ...stored.data, clusterId: 999999, procId: 0, submittedAt: 0 },
  }),
})

// ------------------------------------------------------------------ HTCondor scenarios

interface Harness {
  fake: FakeCondor
  site: SiteConfig
  plan: ExecutionPlan
  runDir: string
  runId: string
  session: StrategySession
  logs: string[]
  launch(taskId: string, pool: string, command: string): TaskLaunch
  until(refs: JobRef[], done: (s: JobStatus[]) => boolean, ms?: number): Promise<JobStatus[]>
}

let harnessSeq = 0
async function harness(
  label: string,
  plan: ExecutionPlan,
  o: {
    htcondor?: Record<string, unknown>
    env?: Record<string, string>
    strategy?: Partial<HTCondorStrategyOptions>
    auto?: boolean
  } = {},
): Promise<Harness> {
  const dir = path.join(root, `${label}-${++harnessSeq}`)
  const fake = installFakeCondor(dir)
  if (o.auto !== false) fake.control({ mode: 'auto' })
  const site = siteFor(fake, o.htcondor, o.env)
  const runId = `r${harnessSeq}${label}`
  const runDir = path.join(site.paths.runs, runId)
  mkdirSync(runDir, { recursive: true })
  const logs: string[] = []
  const strategy = createHTCondorStrategy({
    site,
    pollIntervalMs: 100,
    maxPollIntervalMs: 400,
    lostGraceMs: 3000,
    ...o.strategy,
  })
  const ctx: StrategyRunContext = {
    runId,
    runDir,
    plan,
    site,
    onStatus: () => {},
    log: (l, m) => logs.push(`${l}: ${m}`),
  }
  const session = await strategy.open(ctx)
  const launch = (taskId: string, pool: string, command: string): TaskLaunch => {
    const taskDir = path.join(runDir, 'tasks', taskId)
    mkdirSync(taskDir, { recursive: true })
    return {
      runId,
      taskId,
      attempt: 0,
      stageId: taskId.split('-')[0]!,
      pool,
      taskDir,
      specPath: path.join(taskDir, 'spec.json'),
      argv: ['bash', '-c', command],
      env: { CONTROLROOM_TASK: taskId },
      timeoutSeconds: null,
    }
  }
  const until = async (refs: JobRef[], done: (s: JobStatus[]) => boolean, ms = 20_000) => {
    const t0 = Date.now()
    for (;;) {
      const st = await session.poll(refs)
      if (done(st)) return st
      if (Date.now() - t0 > ms)
        throw new Error(`timeout; last: ${JSON.stringify(st.map((x) => [x.ref.jobId, x.raw, x.task, x.reason]))}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return { fake, site, plan, runDir, runId, session, logs, launch, until }
}

function pool(name: string, r: Partial<PlanPool['resources']> = {}, config: Record<string, unknown> = {}): PlanPool {
  return {
    name,
    workers: 4,
    resources: { cpus: 1, memoryBytes: 512 * 1024 ** 2, gpus: 0, diskBytes: null, ...r },
    resourceClass: null,
    config,
    implicit: false,
    stages: [name === 'default' ? 'S' : `S_${name}`],
  }
}

function planWith(pools: PlanPool[], over: Partial<ExecutionPlan> = {}): ExecutionPlan {
  return { ...contractPlan(pools), backend: 'local', strategy: 'htcondor', ...over }
}

const okRef = (r: { ok: boolean; ref?: JobRef; problem?: { message: string } }) => {
  if (!r.ok) throw new Error(r.problem!.message)
  return r.ref!
}

describe('htcondor strategy: preview, submission, status (format-faithful simulator)', () => {
  it('previews the seed dask+htcondor example per pool: gpu -> request_gpus = 1, with its job script; preflight fits the simulated slots', async () => {
    const doc = parseDocument(readFileSync(path.join(REPO, 'examples/heterogeneous.yaml'), 'utf8'))
    doc.setIn(['execution', 'backend'], 'dask')
    doc.setIn(['execution', 'strategy'], 'htcondor')
    doc.setIn(['execution', 'pools', 'gpu', 'config'], doc.createNode({ queue: 'workday' }))
    const plan = compileWorkflow(doc.toString()).plan!
    const fake = installFakeCondor(path.join(root, 'preview'))
    const s = createHTCondorStrategy({ site: siteFor(fake) })
    const gpu = await s.render(plan.pools.find((p) => p.name === 'gpu')!, plan, { runDir: '/shared/runs/R1' })
    expect(gpu.kind).toBe('condor-submit')
    expect(gpu.problems).toEqual([])
    expect(gpu.text).toMatch(/^request_gpus\s+= 1$/m)
    expect(gpu.text).toMatch(/^request_memory\s+= 16384$/m)
    expect(gpu.text).toMatch(/^\+JobFlavour\s+= "workday"$/m)
    expect(gpu.text).toMatch(/^log\s+= \/shared\/runs\/R1\/condor\.log$/m)
    expect(gpu.text).toContain('# ---- job script /shared/runs/R1/condor/TrainModel-a0.sh ----')
    expect(gpu.text).toMatch(/exec \S+ \S+runner\.mjs --spec \/shared\/runs\/R1\/tasks\/TrainModel\/spec\.json/)
    const hm = await s.render(plan.pools.find((p) => p.name === 'high_memory')!, plan, { runDir: '/shared/runs/R1' })
    expect(hm.text).toMatch(/^request_cpus\s+= 4$/m)
    expect(hm.text).toMatch(/^request_memory\s+= 65536$/m)
    expect(await s.preflight(plan)).toEqual([])
    // the slots condor_status reports decide what is impossible
    fake.control({ slots: [{ Name: 'slot1@small', Cpus: 2, Memory: 8192, Disk: 1e7, GPUs: 0 }] })
    const p = await s.preflight(plan)
    expect(p.map((x) => [x.pool, x.code])).toEqual([
      ['high_memory', 'htcondor-impossible-request'],
      ['gpu', 'htcondor-impossible-request'],
    ])
    expect(p[1]!.message).toContain('the slots offer at most 8 GiB memory, at most 0 GPU(s)')
  })

  it('with site oauthServices the job takes its token from the credmon ($_CONDOR_CREDS/<service>.use)', async () => {
    const fake = installFakeCondor(path.join(root, 'oauth'))
    const s = createHTCondorStrategy({ site: siteFor(fake, { oauthServices: ['scitokens'] }) })
    const plan = planWith([pool('default')])
    const r = await s.render(plan.pools[0]!, plan, { runDir: '/shared/runs/R2' })
    expect(r.text).toMatch(/^use_oauth_services\s+= scitokens$/m)
    expect(r.text).toContain('export BEARER_TOKEN_FILE="$_CONDOR_CREDS/scitokens.use"')
  })

  it('says clearly when HTCondor is not installed where the commands run', async () => {
    const fake = installFakeCondor(path.join(root, 'nocondor'))
    const s = createHTCondorStrategy({ site: siteFor(fake, { binDir: path.join(root, 'no-such-bin') }) })
    const p = await s.preflight(planWith([pool('default')]))
    expect(p).toMatchObject([{ code: 'htcondor-not-installed', severity: 'error' }])
    expect(p[0]!.message).toContain('not installed on local')
  })

  it('submits a group as ONE cluster with condor_submit -terse, jobs ClusterId.ProcId, polled with one condor_q', async () => {
    const h = await harness('group', planWith([pool('default')]), { auto: false })
    const res = await h.session.submit([
      h.launch('S-0', 'default', 'echo zero'),
      h.launch('S-1', 'default', 'echo one'),
      h.launch('S-2', 'default', 'exit 4'),
    ])
    const refs = res.map(okRef)
    expect(refs.map((r) => r.jobId)).toEqual(['101.0', '101.1', '101.2'])
    expect(refs.map((r) => r.arrayIndex)).toEqual([0, 1, 2])
    const submit = h.fake.calls('condor_submit')
    expect(submit).toHaveLength(1)
    expect(submit[0]!.argv[0]).toBe('-terse')
    const sub = h.fake.submitted(101)
    expect(sub).toMatch(/^queue 3$/m)
    expect(sub).toMatch(/^request_memory\s+= 512$/m)
    expect(sub).toMatch(/^MY\.ControlRoomRun\s+= "r\d+group"$/m)
    // idle before the schedd does anything
    let st = await h.session.poll(refs)
    expect(st.map((s) => [s.raw, s.worker, s.task])).toEqual(Array(3).fill(['IDLE', 'pending-in-queue', 'queued']))
    expect(h.fake.calls('condor_q')).toHaveLength(1)
    expect(h.fake.calls('condor_q')[0]!.argv).toEqual(
      expect.arrayContaining(['-json', '-constraint', 'ClusterId == 101']),
    )
    // run them: the event log then says everything
    for (const r of refs) h.fake.start(r.jobId, { spawn: false })
    st = await h.session.poll(refs)
    expect(st.map((s) => s.task)).toEqual(['running', 'running', 'running'])
    expect(st[0]!.host).toBe('slot1_1@fake-ep.example.org')
    for (const r of refs) h.fake.complete(r.jobId)
    const before = h.fake.calls('condor_q').length
    st = await h.session.poll(refs)
    expect(st.map((s) => [s.task, s.exitCode, s.final])).toEqual([
      ['succeeded', 0, true],
      ['succeeded', 0, true],
      ['failed', 4, true],
    ])
    // all three finished in the event log: no condor_q needed any more
    expect(h.fake.calls('condor_q').length).toBe(before)
    expect(readFileSync(path.join(h.runDir, 'condor', 'S-a0-1.101.1.out'), 'utf8')).toBe('one\n')
  })

  it('a HELD job shows its hold reason; under holds: fail a system hold is removed and the task fails with it', async () => {
    const h = await harness('held', planWith([pool('default')]), { auto: false })
    const [never, started] = (
      await h.session.submit([h.launch('S-0', 'default', 'sleep 30'), h.launch('S-1', 'default', 'sleep 30')])
    ).map(okRef)
    h.fake.hold(never!.jobId, 'Transfer input files failure at execution point slot1@ep: /nope/env.sh not found', 13, 2)
    h.fake.start(started!.jobId, { spawn: false })
    await h.session.poll([started!])
    h.fake.hold(
      started!.jobId,
      'Job has gone over cgroup memory limit of 512 megabytes. Peak usage: 731 megabytes.',
      34,
      102,
    )
    const [a, b] = await h.session.poll([never!, started!])
    expect(a).toMatchObject({ raw: 'HELD', worker: 'pending-in-queue', task: 'queued', final: false, hopeless: true })
    expect(a!.reason).toBe(
      'held: Transfer input files failure at execution point slot1@ep: /nope/env.sh not found (HoldReasonCode 13 TransferInputError, subcode 2); removed by Control Room (site htcondor.holds: fail)',
    )
    // it had started: its task stays `running` in the status, hopeless: the backend fails it now with the reason
    expect(b).toMatchObject({ raw: 'HELD', worker: 'pending-in-queue', task: 'running', final: false, hopeless: true })
    expect(b!.reason).toMatch(
      /^held: Job has gone over cgroup memory limit of 512 megabytes\. Peak usage: 731 megabytes\. \(HoldReasonCode 34 JobOutOfResources, subcode 102\)/,
    )
    // both were condor_rm'ed (not left held forever)
    expect(h.fake.calls('condor_rm').flatMap((c) => c.argv)).toEqual(
      expect.arrayContaining([never!.jobId, started!.jobId]),
    )
    // later polls keep the same answer (the removal is not reported as a user cancel)
    const again = await h.session.poll([started!])
    expect(again[0]).toMatchObject({ raw: 'HELD', hopeless: true, reason: b!.reason })
  })

  it('under holds: wait a held job stays visible as held; released, it runs to the end; a user hold never fails it', async () => {
    const h = await harness('wait', planWith([pool('default')]), { htcondor: { holds: 'wait' }, auto: false })
    const [ref] = (await h.session.submit([h.launch('S-0', 'default', 'echo done')])).map(okRef)
    h.fake.hold(ref!.jobId, "Error from slot1@ep: Failed to execute '/x': (errno=8: 'Exec format error')", 6, 8)
    const [held] = await h.session.poll([ref!])
    expect(held).toMatchObject({
      raw: 'HELD',
      worker: 'pending-in-queue',
      task: 'queued',
      final: false,
      hopeless: false,
    })
    expect(held!.reason).toContain(
      "held: Error from slot1@ep: Failed to execute '/x': (errno=8: 'Exec format error') (HoldReasonCode 6 FailedToCreateProcess, subcode 8)",
    )
    expect(h.fake.calls('condor_rm')).toHaveLength(0)
    h.fake.release(ref!.jobId)
    const [rel] = await h.session.poll([ref!])
    expect(rel).toMatchObject({
      raw: 'IDLE',
      task: 'queued',
      reason: expect.stringMatching(/^released via condor_release \(by user \S+\)$/),
    })
    h.fake.control({ mode: 'auto' })
    const [end] = await h.until([ref!], (s) => s[0]!.final)
    expect(end).toMatchObject({ task: 'succeeded', exitCode: 0 })
    // condor_hold by the user is never failed automatically, even under holds: fail
    const h2 = await harness('userhold', planWith([pool('default')]), { auto: false })
    const [r2] = (await h2.session.submit([h2.launch('S-0', 'default', 'true')])).map(okRef)
    h2.fake.hold(r2!.jobId, 'via condor_hold (by user alice)', 1, 0)
    const [uh] = await h2.session.poll([r2!])
    expect(uh).toMatchObject({
      raw: 'HELD',
      hopeless: false,
      final: false,
      reason: 'held: via condor_hold (by user alice) (HoldReasonCode 1 UserRequest)',
    })
  })

  it('an evicted job goes back to the queue: worker waits again, its task stays running, then it completes', async () => {
    const h = await harness('evict', planWith([pool('default')]), { auto: false })
    const [ref] = (await h.session.submit([h.launch('S-0', 'default', 'echo again')])).map(okRef)
    h.fake.start(ref!.jobId, { hostname: 'ep1.example.org', slot: 'slot1_1@ep1.example.org', spawn: false })
    expect((await h.session.poll([ref!]))[0]).toMatchObject({
      worker: 'running',
      task: 'running',
      host: 'slot1_1@ep1.example.org',
    })
    h.fake.evict(ref!.jobId, 'The startd is shutting down')
    const [ev] = await h.session.poll([ref!])
    expect(ev).toMatchObject({ raw: 'IDLE', worker: 'pending-in-queue', task: 'running', final: false })
    expect(ev!.reason).toBe('evicted from slot1_1@ep1.example.org: The startd is shutting down; back in the queue')
    h.fake.start(ref!.jobId, { hostname: 'ep2.example.org', slot: 'slot1_1@ep2.example.org' })
    h.fake.complete(ref!.jobId)
    const [end] = await h.session.poll([ref!])
    expect(end).toMatchObject({ task: 'succeeded', host: 'slot1_1@ep2.example.org' })
  })

  it('cancel: condor_rm, the running process is killed, the job ends cancelled', async () => {
    const h = await harness('cancel', planWith([pool('default')]))
    const [ref] = (await h.session.submit([h.launch('S-0', 'default', 'sleep 60')])).map(okRef)
    await h.until([ref!], (s) => s[0]!.task === 'running')
    await h.session.cancel([ref!])
    expect(h.fake.calls('condor_rm').at(-1)!.argv).toEqual([ref!.jobId])
    const [end] = await h.until([ref!], (s) => s[0]!.final)
    expect(end).toMatchObject({ raw: 'REMOVED', task: 'cancelled', worker: 'gone' })
    expect(end!.reason).toMatch(/^removed: via condor_rm \(by user /)
  })

  it('re-attaches after a restart by ClusterId.ProcId without resubmitting; status from condor_history when the log is off', async () => {
    const h = await harness('reattach', planWith([pool('default')]), { htcondor: { eventLog: false }, auto: false })
    const [ref] = (await h.session.submit([h.launch('S-0', 'default', 'echo later')])).map(okRef)
    const stored: JobRef = JSON.parse(JSON.stringify(ref))
    await h.session.close()
    h.fake.start(stored.jobId)
    h.fake.complete(stored.jobId)
    // a new strategy + session: the restarted server
    const s2 = await createHTCondorStrategy({ site: h.site, pollIntervalMs: 100 }).open({
      runId: h.runId,
      runDir: h.runDir,
      plan: h.plan,
      site: h.site,
      onStatus: () => {},
      log: () => {},
    })
    const [st] = await s2.reattach([stored])
    expect(st).toMatchObject({ task: 'succeeded', final: true, exitCode: 0, raw: 'COMPLETED' })
    expect(h.fake.calls('condor_submit')).toHaveLength(1)
    expect(h.fake.calls('condor_history').at(-1)!.argv).toEqual(
      expect.arrayContaining(['-json', '-limit', '1', '-constraint', `ClusterId == ${stored.data!.clusterId}`]),
    )
  })

  it('a job HTCondor forgot entirely is lost (after a grace period); a schedd that does not answer is not a lost job', async () => {
    const h = await harness('lost', planWith([pool('default')]), {
      htcondor: { eventLog: false },
      auto: false,
      strategy: { lostGraceMs: 300 },
    })
    const [ref] = (await h.session.submit([h.launch('S-0', 'default', 'true')])).map(okRef)
    h.fake.control({
      qError:
        'ERROR: Failed to connect to local queue manager\nSECMAN:2011:Connection closed during command authorization.',
    })
    await new Promise((r) => setTimeout(r, 400))
    const [down] = await h.session.poll([ref!])
    expect(down!.final).toBe(false)
    expect(h.logs.some((l) => l.includes('condor_q failed'))).toBe(true)
    h.fake.control({ qError: null })
    h.fake.forget(ref!.jobId)
    const [lost] = await h.session.poll([ref!])
    expect(lost).toMatchObject({ task: 'lost', final: true, worker: 'gone', raw: 'MISSING' })
    expect(lost!.reason).toContain(`HTCondor no longer knows job ${ref!.jobId}`)
  })

  it('reads a JSON event log (DEFAULT_USERLOG_FORMAT_OPTIONS = JSON) as well', async () => {
    const h = await harness('jsonlog', planWith([pool('default')]), { auto: false })
    h.fake.control({ eventLogFormat: 'json' })
    const [ref] = (await h.session.submit([h.launch('S-0', 'default', 'exit 2')])).map(okRef)
    h.fake.start(ref!.jobId)
    h.fake.complete(ref!.jobId)
    expect(readFileSync(path.join(h.runDir, 'condor.log'), 'utf8').trimStart().startsWith('{')).toBe(true)
    const qBefore = h.fake.calls('condor_q').length
    const [st] = await h.session.poll([ref!])
    expect(st).toMatchObject({ task: 'failed', exitCode: 2, reason: 'exit code 2' })
    expect(h.fake.calls('condor_q').length).toBe(qBefore)
  })

  it('condor_submit errors become pool problems: schedd down (retryable), a rejected submit line', async () => {
    const h = await harness('submiterr', planWith([pool('default')]), { auto: false })
    h.fake.control({
      submitError: {
        code: 1,
        stderr:
          '\nERROR: Failed to connect to local queue manager\nAUTHENTICATE:1003:Failed to authenticate with any method\n',
      },
    })
    const [r] = await h.session.submit([h.launch('S-0', 'default', 'true')])
    expect(r).toMatchObject({
      ok: false,
      retryable: true,
      problem: { code: 'htcondor-schedd-unreachable', pool: 'default', severity: 'error' },
    })
    h.fake.control({
      submitError: { code: 1, stderr: '\nERROR: on Line 14 of submit file: Submit:0:Unknown command "request_gpu"\n' },
    })
    const [r2] = await h.session.submit([h.launch('S-1', 'default', 'true')])
    expect(r2).toMatchObject({ ok: false, problem: { code: 'htcondor-invalid-submit' } })
    expect(h.logs.join('\n')).toContain('Unknown command "request_gpu"')
  })

  it('a pool config error (maxruntime) refuses the submission before condor_submit runs', async () => {
    const h = await harness('walltime', planWith([pool('default', {}, { maxruntime: 'soon' })]), {
      auto: false,
    })
    const [r] = await h.session.submit([h.launch('S-0', 'default', 'true')])
    expect(r).toMatchObject({ ok: false, problem: { code: 'htcondor-invalid-maxruntime' } })
    expect(h.fake.calls('condor_submit')).toHaveLength(0)
  })
})

describe('htcondor strategy: worker environment and credentials end to end', () => {
  const dir = path.join(root, 'e2e')
  mkdirSync(dir, { recursive: true })

  it('packed-pixi archive, bearer token and X509 proxy are transferred; the job sees them in its sandbox; no secret leaks', async () => {
    const pki = makePki(path.join(dir, 'pki'))
    const proxy = gridProxyInit(pki, path.join(dir, 'x509up'), '4:00')
    const token = scitokensCreate(makeTokenKey(path.join(dir, 'issuer')), {
      scope: 'storage.read:/',
      exp: String(Math.floor(Date.now() / 1000) + 4 * 3600),
    })
    const tokenFile = path.join(dir, 'bt')
    writeFileSync(tokenFile, token, { mode: 0o600 })
    const archive = makePixiPackTar(path.join(dir, 'pack'), 'e2e-env')
    const shim = pixiUnpackBin(dir)
    const plan = planWith([pool('default')], {
      environment: { type: 'packed-pixi', environment: 'default', archive_path: archive, worker_env_dir: 'worker-env' },
      credentials: [
        { kind: 'x509', source: 'env', env: 'X509_USER_PROXY', required: true },
        { kind: 'scitoken', source: 'env', env: 'BEARER_TOKEN_FILE', required: true },
      ],
    })
    const h = await harness('e2e', plan, {
      env: { PATH: `${shim}:${process.env.PATH}` },
      strategy: { credentialEnv: { X509_USER_PROXY: proxy, BEARER_TOKEN_FILE: tokenFile }, credentialPolicy: 'refuse' },
    })
    const probe = [
      'echo "PREFIX=$CONDA_PREFIX"',
      'echo "MARKER=$FASTHEP_ENV_MARKER"',
      'python',
      'echo "TOKEN_FILE=$BEARER_TOKEN_FILE"',
      'stat -c "TOKEN_MODE=%a" "$BEARER_TOKEN_FILE"',
      'echo "PROXY=$X509_USER_PROXY"',
      'grep -c "BEGIN CERTIFICATE" "$X509_USER_PROXY"',
      'echo "RUN=$CONTROLROOM_RUN_ID"',
    ].join('; ')
    const [ref] = (await h.session.submit([h.launch('S-0', 'default', probe)])).map(okRef)
    const [end] = await h.until([ref!], (s) => s[0]!.final, 30_000)
    const out = readFileSync(path.join(h.runDir, 'condor', `S-a0-1.${ref!.data!.clusterId}.0.out`), 'utf8')
    const err = readFileSync(path.join(h.runDir, 'condor', `S-a0-1.${ref!.data!.clusterId}.0.err`), 'utf8')
    expect(end, err).toMatchObject({ task: 'succeeded' })
    const sandbox = /PREFIX=(.*)\/worker-env\n/.exec(out)?.[1]
    expect(sandbox).toMatch(/fake-condor-home\/execute\/dir_/)
    expect(out).toContain('MARKER=e2e-env')
    expect(out).toContain(`e2e-env python from ${sandbox}/worker-env/bin/python`)
    expect(out).toContain(`TOKEN_FILE=${sandbox}/bearer_token`)
    expect(out).toContain('TOKEN_MODE=600')
    expect(out).toContain(`PROXY=${sandbox}/x509_proxy`)
    expect(out).toContain(`RUN=${h.runId}`)
    // what was submitted
    const sub = h.fake.submitted(ref!.data!.clusterId as number)
    expect(sub).toMatch(
      new RegExp(
        `^transfer_input_files\\s+= ${archive.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')},${h.runDir}/credentials/bearer_token$`,
        'm',
      ),
    )
    expect(sub).toMatch(new RegExp(`^x509userproxy\\s+= ${h.runDir}/credentials/x509_proxy$`, 'm'))
    expect(sub).toMatch(/^environment\s+= "BEARER_TOKEN_FILE=bearer_token"$/m)
    expect(sub).toMatch(/^should_transfer_files\s+= YES$/m)
    // staged copies are 0600
    for (const f of ['x509_proxy', 'bearer_token'])
      expect(statSync(path.join(h.runDir, 'credentials', f)).mode & 0o777).toBe(0o600)
    // no byte of the secrets in what Control Room wrote or returned: submit file, job script, statuses, logs
    const script = readFileSync(String(ref!.data!.scriptPath), 'utf8')
    const everything = [
      sub,
      script,
      JSON.stringify(end),
      JSON.stringify(ref),
      h.logs.join('\n'),
      readFileSync(path.join(h.runDir, 'condor.log'), 'utf8'),
    ].join('\n')
    for (const part of token.split('.')) expect(everything.includes(part.slice(0, 24))).toBe(false)
    for (const line of readFileSync(proxy, 'utf8')
      .split('\n')
      .filter((l) => l.length > 40 && !l.startsWith('-----')))
      expect(everything.includes(line)).toBe(false)
  })

  it('refuse mode: an expired proxy blocks the submission before condor_submit, with the reason', async () => {
    const pki = makePki(path.join(dir, 'pki2'))
    const expired = vomsProxyFake(pki, path.join(dir, 'x509up_expired'), { hours: 1, pastproxy: '2:00' })
    const plan = planWith([pool('default')], { credentials: [{ kind: 'x509', source: 'env', required: true }] })
    const h = await harness('expired', plan, {
      strategy: { credentialEnv: { X509_USER_PROXY: expired }, credentialPolicy: 'refuse' },
      auto: false,
    })
    const [r] = await h.session.submit([h.launch('S-0', 'default', 'true')])
    expect(r).toMatchObject({ ok: false, problem: { code: 'credential-expired', severity: 'error' } })
    expect(h.fake.calls('condor_submit')).toHaveLength(0)
    expect(h.logs.join('\n')).toMatch(/error: the X509 proxy .* expired at/)
    // preflight says the same before dispatch
    const pre = await createHTCondorStrategy({
      site: h.site,
      credentialEnv: { X509_USER_PROXY: expired },
      credentialPolicy: 'refuse',
    }).preflight(plan)
    expect(pre).toMatchObject([{ code: 'credential-expired', severity: 'error' }])
    // warn mode lets it through; condor_submit itself then refuses it ("ERROR: proxy has expired")
    const w = await harness('expiredwarn', plan, {
      strategy: { credentialEnv: { X509_USER_PROXY: expired }, credentialPolicy: 'warn' },
      auto: false,
    })
    const [r2] = await w.session.submit([w.launch('S-0', 'default', 'true')])
    expect(r2).toMatchObject({ ok: false, problem: { code: 'htcondor-proxy-rejected' } })
    expect(w.logs.some((l) => l.startsWith('warn: the X509 proxy'))).toBe(true)
  })

  it('a missing environment archive is an error before dispatch, with its path', async () => {
    const fake = installFakeCondor(path.join(dir, 'missing'))
    const s = createHTCondorStrategy({ site: siteFor(fake) })
    const p = await s.preflight(
      planWith([pool('default')], {
        environment: { type: 'conda-pack', archive_path: '/nowhere/analysis-env.tar.gz' },
      }),
    )
    expect(p).toMatchObject([{ code: 'environment-archive-missing', severity: 'error' }])
    expect(p[0]!.message).toContain('/nowhere/analysis-env.tar.gz')
  })
})

// the local transport is what every command above went through
void LocalTransport
