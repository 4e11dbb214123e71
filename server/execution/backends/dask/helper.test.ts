/**
 * hep.* partitions on the Dask backend run in each worker's long-lived node helper
 * (runtime/worker-helper.mjs, started by the bridge's task function), not in a process per
 * partition: real Dask scheduler and workers, real ROOT file, histograms byte-identical to the
 * 1-partition run; cancel of a module task in the helper stops that task and the helper serves on.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hepTestDataDir } from '../../../hep/testdata.ts'
import { runtimeScript } from '../../paths.ts'
import { registerBackend } from '../../registry.ts'
import { startRun } from '../../runs.ts'
import { setupEngineTest, type EngineTestEnv } from '../../testing.ts'
import { DaskBackend } from '../dask.ts'
import { pidAlive } from './procs.ts'
import { DaskSession } from './session.ts'
import { TaskLog, tempRunDir, testPool, waitUntil } from './testing.ts'

registerBackend('dask', () => new DaskBackend())

const ZMUMU = path.join(hepTestDataDir(), 'uproot-Zmumu.root')
const HOST = { cpus: 8, memoryBytes: 16 * 1024 ** 3, gpus: 0, diskBytes: null }

function hepYaml(name: string, chunk: number | null): string {
  return `version: 1
name: ${name}
execution:
  backend: dask
  strategy: local
  config: { ${chunk ? `chunk_size: ${chunk}` : ''} }
  pools:
    default: { workers: 2, resources: { cpus: 1, memory: 500MB } }
data:
  datasets:
    - { name: zmumu, files: [${ZMUMU}], treeName: events }
analysis:
  stages:
    - id: hist
      op: hep.hist
      params:
        histograms:
          - { name: muon_pt, expr: 'max(pt1, pt2)', bins: { n: 50, low: 0, high: 200 } }
          - { name: eta, expr: eta1, bins: { n: 40, low: -4, high: 4 } }
`
}

/** a TaskSpec whose work is the export `run` of a JS module */
function moduleSpec(runDir: string, taskId: string, mod: string) {
  const taskDir = path.join(runDir, 'tasks', taskId)
  return {
    version: 1,
    runId: path.basename(runDir),
    taskId,
    stageId: 's',
    pool: 'default',
    attempt: 0,
    op: 'test.module',
    argv: [],
    module: { path: mod, export: 'run' },
    env: {},
    cwd: taskDir,
    taskDir,
    runDir,
    stdoutPath: path.join(taskDir, 'stdout.log'),
    stderrPath: path.join(taskDir, 'stderr.log'),
    resultPath: path.join(taskDir, 'result.json'),
    timeoutSeconds: null,
    collect: { profile: false, diagnostics: false, rssSampleMs: 0 },
    outputsPath: path.join(taskDir, 'outputs.json'),
    modifiers: [],
    metadata: {},
  }
}

describe('hep partitions on Dask run in the workers helper', () => {
  let env: EngineTestEnv
  const dirs: string[] = []
  beforeAll(async () => {
    env = await setupEngineTest({ host: HOST })
  })
  afterAll(async () => {
    await env?.cleanup()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  async function run(yaml: string) {
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    const state = await env.waitFor(runId, 180_000)
    const tasks = await env.t.db.task.findMany({ where: { runId } })
    return { runId, state, tasks, runDir: path.join(env.home, 'runs', runId) }
  }

  it('16 partitions: one helper process per worker runs them all, same histograms as 1 partition', async () => {
    const one = await run(hepYaml('dask-hep-1', null))
    expect(one.state).toBe('succeeded')
    const many = await run(hepYaml('dask-hep-16', 144))
    expect(many.state, JSON.stringify(many.tasks.map((t) => [t.state, t.reason]))).toBe('succeeded')
    expect(many.tasks).toHaveLength(16)
    const results = many.tasks.map(
      (t) => JSON.parse(readFileSync(path.join(many.runDir, 'tasks', t.id, 'result.json'), 'utf8')) as { pid: number },
    )
    // every partition ran in the process of its worker's helper: at most one per worker (2)
    const pids = new Set(results.map((r) => r.pid))
    expect(pids.size).toBeGreaterThanOrEqual(1)
    expect(pids.size).toBeLessThanOrEqual(2)
    for (const pid of pids) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      expect(cmd.some((a) => a.endsWith('worker-helper.mjs'))).toBe(true)
    }
    for (const name of ['muon_pt', 'eta'])
      expect(readFileSync(path.join(many.runDir, 'hep', 'hist', 'zmumu', `${name}.json`), 'utf8')).toBe(
        readFileSync(path.join(one.runDir, 'hep', 'hist', 'zmumu', `${name}.json`), 'utf8'),
      )
  }, 300_000)

  it('cancel of a module task in the helper stops it; the helper runs the next task', async () => {
    const runDir = tempRunDir('cr-dask-helper-')
    dirs.push(runDir)
    const session = new DaskSession({
      runId: path.basename(runDir),
      runDir,
      pools: [testPool('default', 1)],
      strategy: 'local',
      config: {},
    })
    const log = new TaskLog(session)
    let helperPid = 0
    try {
      await session.start()
      // a module task that waits for its abort signal (what a long partition does when cancelled)
      const mod = path.join(runDir, 'wait.mjs')
      writeFileSync(
        mod,
        `export async function run(spec, ctx) {
  ctx.stdout('helper ' + process.pid + '\\n')
  if (spec.taskId !== 'wait') return { outputs: { pid: process.pid } }
  await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
  ctx.stderr('aborted: ' + ctx.signal.reason + '\\n')
  return { exitCode: 1 }
}
`,
      )
      const submit = async (taskId: string) => {
        const taskDir = path.join(runDir, 'tasks', taskId)
        mkdirSync(taskDir, { recursive: true })
        const specPath = path.join(taskDir, 'spec.json')
        writeFileSync(specPath, JSON.stringify(moduleSpec(runDir, taskId, mod)))
        await session.submit([
          { taskId, attempt: 0, pool: 'default', argv: [process.execPath, runtimeScript(), '--spec', specPath] },
        ])
        return taskDir
      }
      const waitDir = await submit('wait')
      const running = await log.waitFor('wait', ['running'], 60_000)
      // the log file may exist (empty) before the task's first line lands in it
      const stdoutLog = path.join(waitDir, 'stdout.log')
      const pidLine = () => /helper (\d+)/.exec(existsSync(stdoutLog) ? readFileSync(stdoutLog, 'utf8') : '')
      await waitUntil(() => pidLine() !== null, 10_000, 'the module task wrote its first line')
      helperPid = Number(pidLine()?.[1])
      expect(running.pid).toBe(helperPid)
      expect(readFileSync(`/proc/${helperPid}/cmdline`, 'utf8')).toContain('worker-helper.mjs')
      session.cancel(['wait'], 1)
      const e = await log.waitFor('wait', ['cancelled', 'finished', 'failed'])
      expect(e.kind).toBe('cancelled')
      expect(readFileSync(path.join(waitDir, 'stderr.log'), 'utf8')).toContain('aborted: cancel')
      expect(JSON.parse(readFileSync(path.join(waitDir, 'result.json'), 'utf8'))).toMatchObject({ cancelled: true })
      // the helper lives on and runs the next module task of that worker
      expect(pidAlive(helperPid)).toBe(true)
      const nextDir = await submit('next')
      expect((await log.waitFor('next', ['finished'], 30_000)).exitCode).toBe(0)
      expect(JSON.parse(readFileSync(path.join(nextDir, 'result.json'), 'utf8'))).toMatchObject({
        exitCode: 0,
        outputs: { pid: helperPid },
      })
    } finally {
      await session.close()
    }
    // the helper goes with its worker (the worker's reaper kills it)
    await waitUntil(() => !pidAlive(helperPid), 15_000, 'the helper to exit with its worker')
  }, 180_000)
})
