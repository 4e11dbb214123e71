/**
 * Dask backend bench: per-task overhead of dask+local against local+local.
 *  - N short tasks (default 2,000; BENCH_DASK_TASKS), each a `shell` op running `true` through the
 *    task runtime (one `node runner.mjs` per task, as on every backend), in one run through the run
 *    engine (SQLite), pool `default` with one worker per CPU, on backend local and on backend dask
 *    (a real scheduler, per-pool workers and the bridge). Per-task overhead = (run wall time -
 *    session start-up) / N; start-up (scheduler + workers + bridge) is reported on its own.
 *  - Dask alone: the same N tasks as bare commands (`true`, no runtime, no engine) through a
 *    DaskSession, i.e. what the bridge + scheduler + worker task function cost per task.
 *  - hep.hist over uproot-Zmumu.root in 32 partitions on dask+local (benchDaskHep): the partitions
 *    as module tasks in each worker's long-lived node helper (the default), against the same module
 *    tasks with the helper switched off (`node runner.mjs` per partition, CONTROLROOM_DASK_HELPER=0)
 *    and against hep_runtime: process (runner + `node hep-task.mjs`: two node starts per partition);
 *    overhead per extra partition = (32-partition wall - 1-partition wall) / 31.
 *   npx tsx bench/dask.bench.ts      (or through `npm run bench`, which calls benchDask())
 */
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ExecutionPlan } from '../server/workflow/types.ts'
import { registerBackend } from '../server/execution/registry.ts'
import { DaskBackend } from '../server/execution/backends/dask.ts'
import { DaskSession } from '../server/execution/backends/dask/session.ts'
import { TaskLog, testPool } from '../server/execution/backends/dask/testing.ts'
import { findProcesses } from '../server/execution/backends/dask/procs.ts'
import { startRun } from '../server/execution/runs.ts'
import { setupEngineTest } from '../server/execution/testing.ts'
import { loadAverage } from './lib/stats.ts'
import { fanOutPlan, openBenchEngine, runIfMain, zmumuMuonPtSections } from './lib/workloads.ts'

const N = Number(process.env.BENCH_DASK_TASKS || 2_000)

function planWith(base: ExecutionPlan, n: number, workers: number, backend: 'local' | 'dask'): ExecutionPlan {
  return { ...fanOutPlan(base, n, workers), backend, strategy: 'local' }
}

export async function benchDask(): Promise<string[]> {
  registerBackend('dask', () => new DaskBackend())
  const lines: string[] = []
  const cpus = os.availableParallelism?.() ?? os.cpus().length
  const yaml = `version: 1\nname: bench-dask\nanalysis:\n  stages:\n    - id: t0\n      op: shell\n      params: { argv: ["true"] }\nexecution:\n  pools:\n    default: { workers: ${cpus}, resources: { cpus: 1 } }\n`
  const bench = await openBenchEngine('dask', yaml)
  const { home, engine } = bench
  const perTask: Record<string, number> = {}
  try {
    for (const backend of ['local', 'dask'] as const) {
      const plan = planWith(bench.plan, N, cpus, backend)
      const t0 = performance.now()
      const r = await bench.start(plan)
      const started = performance.now()
      const state = await engine.waitForRun(r.runId)
      const t1 = performance.now()
      if (state !== 'succeeded') {
        const bad = await bench.db.task.findFirst({ where: { runId: r.runId, state: { not: 'succeeded' } } })
        throw new Error(`bench run on ${backend} ended ${state}: ${bad?.stageId} ${bad?.state} ${bad?.reason}`)
      }
      const startup = started - t0
      perTask[backend] = (t1 - started) / N
      lines.push(
        `dask bench: ${backend}+local, ${N} short tasks (shell \`true\` through the task runtime), ${cpus} workers: ${((t1 - t0) / 1000).toFixed(2)} s wall, session start-up ${(startup / 1000).toFixed(2)} s, ${perTask[backend]!.toFixed(2)} ms/task after start-up`,
      )
    }
    lines.push(
      `dask bench: per-task overhead dask+local / local+local = ${(perTask.dask! / perTask.local!).toFixed(2)} (${perTask.dask!.toFixed(2)} vs ${perTask.local!.toFixed(2)} ms/task; extra ${(perTask.dask! - perTask.local!).toFixed(2)} ms/task)`,
    )

    // ---- Dask alone: bare commands through the bridge, scheduler and workers
    const runDir = mkdtempSync(path.join(home, 'bare-'))
    const s = new DaskSession({ runId: 'bench', runDir, pools: [testPool('default', cpus)], strategy: 'local' })
    const log = new TaskLog(s)
    const ts = performance.now()
    await s.start()
    const tStarted = performance.now()
    const pingMs: number[] = []
    for (let i = 0; i < 20; i++) pingMs.push(await s.bridge!.ping())
    pingMs.sort((a, b) => a - b)
    const ids = Array.from({ length: N }, (_, i) => `b${i}`)
    const tb = performance.now()
    await s.submit(ids.map((id) => ({ taskId: id, attempt: 0, pool: 'default', argv: ['true'] })))
    await log.waitAll(ids, ['finished', 'failed', 'lost', 'cancelled'], 600_000)
    const te = performance.now()
    const bad = ids.filter((id) => log.last(id)?.kind !== 'finished' || log.last(id)?.exitCode !== 0)
    await s.close()
    lines.push(
      `dask bench: bare DaskSession (no engine, no runtime), ${N} x \`true\` on ${cpus} workers: ${((te - tb) / 1000).toFixed(2)} s = ${((te - tb) / N).toFixed(2)} ms/task; cluster start-up ${((tStarted - ts) / 1000).toFixed(2)} s; bridge round trip median ${pingMs[10]!.toFixed(2)} ms${bad.length ? `; ${bad.length} FAILED` : ''}`,
    )
    // the engine closes a finished run's Dask session in the background: let it finish
    for (let i = 0; i < 200 && findProcesses(home).length; i++) await new Promise((r) => setTimeout(r, 100))
    const left = findProcesses(home)
    if (left.length)
      lines.push(`dask bench: WARNING ${left.length} process(es) left: ${left.map((p) => p.cmdline).join(' | ')}`)
  } finally {
    await bench.close()
  }
  return lines
}

runIfMain(import.meta.url, benchDask)

function daskHepYaml(name: string, chunk: number | null, runtime: 'module' | 'process'): string {
  return `version: 1
name: ${name}
execution:
  backend: dask
  strategy: local
  config: { hep_runtime: ${runtime}${chunk ? `, chunk_size: ${chunk}` : ''} }
  pools:
    default: { workers: 2, resources: { cpus: 1, memory: 500MB } }
${zmumuMuonPtSections()}`
}

export async function benchDaskHep(): Promise<string[]> {
  registerBackend('dask', () => new DaskBackend())
  const env = await setupEngineTest({ host: { cpus: 8, memoryBytes: 16 * 1024 ** 3, gpus: 0, diskBytes: null } })
  const load = loadAverage
  const lines = [`dask hep: load average before ${load()} (1, 5, 15 min; 2 cpus)`]
  const wall = async (name: string, chunk: number | null, runtime: 'module' | 'process', helper: boolean) => {
    process.env.CONTROLROOM_DASK_HELPER = helper ? '1' : '0'
    const versionId = await env.save(daskHepYaml(name, chunk, runtime))
    const t0 = performance.now()
    const { runId } = await startRun({ versionId }, env.engine)
    const state = await env.waitFor(runId, 600_000)
    if (state !== 'succeeded') throw new Error(`${name} ended ${state}`)
    return performance.now() - t0
  }
  try {
    const modes = [
      ['worker helper (module tasks, default)', 'module', true],
      ['runner per partition (module in it)', 'module', false],
      ['hep_runtime: process (runner + hep-task.mjs)', 'process', false],
    ] as const
    // each run includes the scheduler's and workers' start (seconds, noisy under load): the
    // 32-partition walls are compared side by side, the per-partition figure is indicative
    const walls: number[] = []
    for (const [label, runtime, helper] of modes) {
      const one = await wall(`dask-hep-1-${runtime}-${helper}`, null, runtime, helper)
      const many = await wall(`dask-hep-32-${runtime}-${helper}`, 72, runtime, helper)
      walls.push(many)
      lines.push(
        `dask hep.hist Zmumu, ${label}: 32 partitions ${(many / 1000).toFixed(2)} s${walls.length > 1 ? ` (helper/this ${(walls[0]! / many).toFixed(2)})` : ''}; 1 partition ${(one / 1000).toFixed(2)} s; ${((many - one) / 31).toFixed(0)} ms per extra partition`,
      )
    }
    lines.push(`dask hep: load average after ${load()}`)
    return lines
  } finally {
    delete process.env.CONTROLROOM_DASK_HELPER
    await env.cleanup()
  }
}
