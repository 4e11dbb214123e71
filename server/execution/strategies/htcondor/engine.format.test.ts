/**
 * The run engine (backend local) with strategy `htcondor`, against the FORMAT-FAITHFUL SIMULATOR
 * of the HTCondor command line tools (__fixtures__/fake-condor; HTCondor itself is not packaged
 * here). The seed's heterogeneous workflow runs as HTCondor jobs (gpu stage with request_gpus,
 * high_memory with its cpus and memory); a job held by the system fails its task with the hold
 * reason; a run is cancelled with condor_rm.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setupEngineTest, type EngineTestEnv } from '../../testing.ts'
import { startRun } from '../../runs.ts'
import { type SeedDoc, seedOn, standInHepHist, startUntilBuildIndexRuns, until } from '../batch/testing.ts'
import './index.ts' // registers strategy `htcondor` (server/execution/drivers.ts does it in the app)
import { installFakeCondor, type FakeCondor } from './__fixtures__/fake-condor/index.ts'
import { gridProxyInit, makePki, makeTokenKey, scitokensCreate } from '../../../credentials/__fixtures__/mkcreds.ts'

standInHepHist()

/** the seed workflow on strategy htcondor; only the execution block changes */
function onCondor(edit: (doc: SeedDoc) => void = () => {}): string {
  return seedOn('htcondor', (doc) => {
    doc.execution.pools.gpu.config = { queue: 'workday' }
    edit(doc)
  })
}

describe('engine + strategy htcondor (format-faithful simulator)', () => {
  let env: EngineTestEnv
  let fake: FakeCondor
  beforeAll(async () => {
    env = await setupEngineTest()
    fake = installFakeCondor(path.join(env.home, 'condor-sim'))
    fake.control({ mode: 'auto' })
    writeFileSync(
      path.join(env.home, 'site.yaml'),
      YAML.stringify({ htcondor: { binDir: fake.binDir, env: fake.env, pollIntervalMs: 150, maxPollIntervalMs: 600 } }),
    )
  })
  afterAll(async () => {
    await env?.cleanup()
  })

  /** a run whose BuildIndex task sleeps 30 s, once that task runs: its run id and HTCondor job id */
  const runWithBuildIndexRunning = () =>
    startUntilBuildIndexRuns(
      env,
      onCondor((d) => (d.registry.ops['custom.build_index'].command = ['sleep', '30'])),
    )

  it('runs the heterogeneous workflow as HTCondor jobs with the pools resources', async () => {
    const versionId = await env.save(onCondor())
    const { runId } = await startRun({ versionId }, env.engine)
    const state = await env.waitFor(runId, 60_000)
    const tasks = await env.t.db.task.findMany({ where: { runId } })
    expect(state, JSON.stringify(tasks.map((t) => [t.stageId, t.state, t.reason]))).toBe('succeeded')
    const by = Object.fromEntries(tasks.map((t) => [t.stageId, t]))
    for (const t of tasks) expect(t.batchJobId).toMatch(/^\d+\.\d+$/)
    const sub = (jobId: string) => fake.submitted(Number(jobId.split('.')[0]))
    expect(sub(by.TrainModel!.batchJobId!)).toMatch(/^request_gpus\s+= 1$/m)
    expect(sub(by.TrainModel!.batchJobId!)).toMatch(/^\+JobFlavour\s+= "workday"$/m)
    expect(sub(by.BuildIndex!.batchJobId!)).toMatch(/^request_cpus\s+= 4$/m)
    expect(sub(by.BuildIndex!.batchJobId!)).toMatch(/^request_memory\s+= 65536$/m)
    expect(
      readFileSync(path.join(env.home, 'runs', runId, 'tasks', by.BuildIndex!.id, 'stdout.log'), 'utf8'),
    ).toContain('building index')
    expect(
      readFileSync(path.join(env.home, 'runs', runId, 'tasks', by.TrainModel!.id, 'stdout.log'), 'utf8'),
    ).toContain('training model')
    const workers = await env.t.db.worker.findMany({ where: { runId } })
    expect(workers.map((w) => [w.kind, w.state])).toEqual(tasks.map(() => ['htcondor', 'gone']))
  })

  it('a job the system holds fails its task with the hold reason (not left pending)', async () => {
    const { runId, jobId } = await runWithBuildIndexRunning()
    fake.hold(jobId, 'Job has gone over cgroup memory limit of 65536 megabytes. Peak usage: 70001 megabytes.', 34, 102)
    expect(await env.waitFor(runId, 30_000)).toBe('failed')
    const t = await env.t.db.task.findFirst({ where: { runId, stageId: 'BuildIndex' } })
    expect(t!.state).toBe('failed')
    expect(t!.reason).toMatch(
      /^held: Job has gone over cgroup memory limit .* \(HoldReasonCode 34 JobOutOfResources, subcode 102\)/,
    )
    expect(fake.calls('condor_rm').flatMap((c) => c.argv)).toContain(jobId)
  })

  it('credentials reach the jobs; no byte of the proxy or token in the database, events, logs or run files', async () => {
    const pki = makePki(path.join(env.home, 'pki'))
    const proxy = gridProxyInit(pki, path.join(env.home, 'x509up_test'), '6:00')
    const token = scitokensCreate(makeTokenKey(path.join(env.home, 'issuer')), {
      scope: 'storage.read:/',
      exp: String(Math.floor(Date.now() / 1000) + 6 * 3600),
    })
    const tokenFile = path.join(env.home, 'bt_test')
    writeFileSync(tokenFile, token, { mode: 0o600 })
    const saved = { X509_USER_PROXY: process.env.X509_USER_PROXY, BEARER_TOKEN_FILE: process.env.BEARER_TOKEN_FILE }
    process.env.X509_USER_PROXY = proxy
    process.env.BEARER_TOKEN_FILE = tokenFile
    try {
      const versionId = await env.save(
        onCondor((d) => {
          d.execution.credentials = {
            x509: { env: 'X509_USER_PROXY', required: true },
            scitoken: { env: 'BEARER_TOKEN_FILE', required: true },
          }
          d.registry.ops['custom.build_index'].command = [
            'sh',
            '-c',
            'test -s "$X509_USER_PROXY" && test -s "$BEARER_TOKEN_FILE" && echo "creds at $BEARER_TOKEN_FILE"',
          ]
        }),
      )
      const { runId } = await startRun({ versionId }, env.engine)
      expect(await env.waitFor(runId, 60_000)).toBe('succeeded')
      const t = await env.t.db.task.findFirst({ where: { runId, stageId: 'BuildIndex' } })
      expect(readFileSync(path.join(env.home, 'runs', runId, 'tasks', t!.id, 'stdout.log'), 'utf8')).toMatch(
        /creds at .*\/bearer_token/,
      )
      // the secret, in chunks that would betray any copy of it
      const chunks = [
        ...token
          .split('.')
          .filter((x) => x.length >= 16)
          .map((x) => x.slice(0, 32)),
        ...readFileSync(proxy, 'utf8')
          .split('\n')
          .filter((l) => l.length > 40 && !l.startsWith('-----')),
      ]
      const haystacks: [string, string][] = []
      const dbFile = env.t.url.replace(/^file:/, '')
      for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-journal`])
        if (existsSync(f)) haystacks.push([f, readFileSync(f).toString('latin1')])
      haystacks.push(['events', JSON.stringify(env.events)])
      haystacks.push([
        'db rows',
        JSON.stringify(await env.t.db.event.findMany({ where: { runId } })) +
          JSON.stringify(await env.t.db.task.findMany({ where: { runId } })) +
          JSON.stringify(await env.t.db.run.findMany({ where: { id: runId } })),
      ])
      // every file of the run except the staged credential copies themselves (0600, in credentials/)
      const walk = (d: string): string[] =>
        readdirSync(d).flatMap((n) =>
          statSync(path.join(d, n)).isDirectory() ? walk(path.join(d, n)) : [path.join(d, n)],
        )
      const runDir = path.join(env.home, 'runs', runId)
      // the run is over: its session removes the staged copies (off the engine's write path)
      await until(async () => !existsSync(path.join(runDir, 'credentials')), 10_000, 'staged credentials removed')
      for (const f of walk(runDir).filter((f) => !f.includes(`${path.sep}credentials${path.sep}`)))
        haystacks.push([f, readFileSync(f).toString('latin1')])
      for (const [where, text] of haystacks)
        for (const c of chunks) expect(text.includes(c), `secret found in ${where}`).toBe(false)
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
    }
  })

  it('cancels a run whose task is a running HTCondor job (condor_rm)', async () => {
    const { runId, jobId } = await runWithBuildIndexRunning()
    await env.engine.cancelRun(runId)
    expect(await env.waitFor(runId, 20_000)).toBe('cancelled')
    expect(fake.calls('condor_rm').some((c) => c.argv.includes(jobId))).toBe(true)
    await until(
      () => fake.state().history.some((j) => `${j.cluster}.${j.proc}` === jobId && j.ad.JobStatus === 3),
      10_000,
      'job removed in the simulator',
    )
  })
})

void os
