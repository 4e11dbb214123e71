/**
 * Run engine bench (local backend, local strategy):
 *  - 10,000 no-op tasks in one run. `noop` runs in the engine's process (no task process), so this
 *    measures the engine itself: state machine, batched DB writes of every transition + its event
 *    (SQLite), bus emission. Engine overhead per task = run wall time / N (median of 3 runs), and
 *    the time until a bus subscriber has received every event of the run.
 *  - the same 10,000 tasks' commands as `xargs -P <cpus>` would run them (`true`), for the ratio.
 *  - N tasks (default 1,000; BENCH_PROCESS_TASKS, 0 skips this part) with noop run on the warm executors
 *    (execution.config.noop: process), against `xargs -P <cpus>` running the one-shot runtime
 *    command (`node runner.mjs`) N times.
 *  - benchCliVsPeers(): 1,000 and 10,000 tasks of `true` (BENCH_CLI_TASKS), one pool of 2 workers:
 *    the wall time of the whole `controlroom run` process against Dask LocalCluster (2 worker
 *    processes, subprocess.run, whole python process including the cluster's start) and
 *    `xargs -P2`, measured one after the other in the same bench run, printed as ratios.
 *   npx tsx bench/engine.bench.ts      (or through `npm run bench`, which calls benchEngine())
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createTestDatabase } from '../server/db/testing.ts'
import { saveVersion } from '../server/library/workflows.ts'
import type { ExecutionPlan } from '../server/workflow/types.ts'
import { loadAverage, median } from './lib/stats.ts'
import { fanOutPlan, openBenchEngine } from './lib/workloads.ts'
import { RunEngine } from '../server/execution/engine.ts'
import { subscribe } from '../server/execution/bus.ts'
import { runtimeScript } from '../server/execution/paths.ts'

const N = Number(process.env.BENCH_ENGINE_TASKS || 10_000)
/** 0: skip the warm-executor part (its xargs peer starts node NPROC times: minutes on a loaded host) */
const NPROC = Number(process.env.BENCH_PROCESS_TASKS ?? 1_000)
const REPS = Number(process.env.BENCH_ENGINE_REPS || 3)

function planWith(base: ExecutionPlan, n: number, workers: number, noopMode: 'inprocess' | 'process'): ExecutionPlan {
  const plan = fanOutPlan(base, n, workers)
  return { ...plan, config: { ...plan.config, ...(noopMode === 'process' ? { noop: 'process' } : {}) } }
}

function xargsSeconds(n: number, cpus: number, cmd: string[]): number {
  const input = Array.from({ length: n }, () => 'x').join('\n')
  const t0 = performance.now()
  const r = spawnSync('sh', ['-c', `xargs -P ${cpus} -n 1 ${cmd.map((c) => `'${c}'`).join(' ')} >/dev/null`], { input })
  if (r.status !== 0) throw new Error(`xargs failed: ${r.stderr}`)
  return (performance.now() - t0) / 1000
}

export async function benchEngine(): Promise<string[]> {
  const lines: string[] = []
  const cpus = os.availableParallelism?.() ?? os.cpus().length
  const yaml = `version: 1\nname: bench-noop\nanalysis:\n  stages:\n    - id: t0\n      op: noop\nexecution:\n  pools:\n    default: { workers: ${cpus}, resources: { cpus: 1 } }\n`
  const bench = await openBenchEngine('engine', yaml)
  const { home, engine } = bench
  try {
    const base = bench.plan

    // ---- in-process noop, N tasks
    const perTask: number[] = []
    const toListener: number[] = []
    for (let rep = 0; rep < REPS; rep++) {
      const plan = planWith(base, N, cpus, 'inprocess')
      let received = 0
      let lastAt = 0
      let runId = ''
      const expected = 3 * N + 3 // created, running, 3 per task (queued, running, succeeded), final
      const unsub = subscribe(null, (evs) => {
        for (const e of evs) if (e.runId === runId || !runId) received++
        lastAt = performance.now()
      })
      const t0 = performance.now()
      const r = await bench.start(plan)
      runId = r.runId
      const state = await engine.waitForRun(r.runId)
      const t1 = performance.now()
      while (received < expected && performance.now() - t1 < 10_000) await new Promise((res) => setTimeout(res, 5))
      unsub()
      if (state !== 'succeeded') throw new Error(`bench run ended ${state}`)
      perTask.push((t1 - t0) / N)
      toListener.push(lastAt - t0)
      if (received < expected)
        lines.push(`engine: WARNING only ${received}/${expected} events reached the bus listener`)
    }
    // the same N no-op tasks with the engine writing to PostgreSQL (one run), beside SQLite's figure
    let pgLine: string | null = null
    if (process.env.TEST_DATABASE_URL_PG) {
      const pg = await createTestDatabase('postgresql')
      const pgEngine = new RunEngine({ db: pg.db, url: pg.url, log: () => {} })
      try {
        const pgSaved = await saveVersion(pg.db, { id: null, name: 'bench', mode: 'token', admin: true }, { yaml })
        const t0 = performance.now()
        const r = await pgEngine.createRun({
          workflowId: pgSaved.workflow.id,
          versionId: pgSaved.version.id,
          plan: planWith(base, N, cpus, 'inprocess'),
          source: 'api',
        })
        const state = await pgEngine.waitForRun(r.runId)
        const ms = (performance.now() - t0) / N
        if (state !== 'succeeded') throw new Error(`PostgreSQL bench run ended ${state}`)
        pgLine = `engine: the same ${N} no-op tasks on PostgreSQL: ${ms.toFixed(3)} ms/task; ratio PostgreSQL/SQLite ${(ms / median(perTask)).toFixed(2)}`
      } finally {
        await pgEngine.shutdown({ detach: false }).catch(() => {})
        await pg.cleanup()
      }
    }
    const xTrue = xargsSeconds(N, cpus, ['true'])
    const med = median(perTask)
    lines.push(
      `engine: ${N} no-op tasks (noop in-process), local backend, SQLite, ${REPS} runs: engine overhead per task median ${med.toFixed(3)} ms (runs: ${perTask.map((x) => x.toFixed(3)).join(', ')} ms/task)`,
    )
    if (pgLine) lines.push(pgLine)
    lines.push(
      `engine: all ${3 * N + 3} events of the run reached a subscribed bus listener ${(median(toListener) / 1000).toFixed(2)} s after dispatch (median)`,
    )
    lines.push(
      `engine: xargs -P ${cpus} running \`true\` ${N} times: ${xTrue.toFixed(2)} s; engine run ${((med * N) / 1000).toFixed(2)} s; ratio engine/xargs ${((med * N) / 1000 / xTrue).toFixed(2)}`,
    )

    // ---- noop as real task processes
    if (NPROC <= 0) return lines
    const plan = planWith(base, NPROC, cpus, 'process')
    const t0 = performance.now()
    const r = await bench.start(plan)
    const state = await engine.waitForRun(r.runId)
    const procSeconds = (performance.now() - t0) / 1000
    if (state !== 'succeeded') throw new Error(`bench process run ended ${state}`)
    // xargs running the same runtime command (a no-op spec) NPROC times
    const specDir = path.join(home, 'xargs-spec')
    mkdirSync(specDir, { recursive: true })
    const spec = {
      version: 1,
      runId: 'x',
      taskId: 'x',
      stageId: 'x',
      pool: 'default',
      attempt: 0,
      op: 'noop',
      argv: [],
      env: {},
      cwd: specDir,
      taskDir: specDir,
      runDir: specDir,
      stdoutPath: path.join(specDir, 'stdout.log'),
      stderrPath: path.join(specDir, 'stderr.log'),
      resultPath: path.join(specDir, 'result.json'),
      timeoutSeconds: null,
      collect: { profile: false, diagnostics: false, rssSampleMs: 0 },
      outputsPath: path.join(specDir, 'outputs.json'),
      modifiers: [],
      metadata: {},
    }
    writeFileSync(path.join(specDir, 'spec.json'), JSON.stringify(spec))
    const xRuntime = xargsSeconds(NPROC, cpus, [
      process.execPath,
      runtimeScript(),
      '--spec',
      path.join(specDir, 'spec.json'),
    ])
    lines.push(
      `engine: ${NPROC} no-op tasks on warm executors (${cpus} workers): ${procSeconds.toFixed(2)} s = ${((procSeconds * 1000) / NPROC).toFixed(1)} ms/task; xargs -P ${cpus} of the one-shot runtime (node runner.mjs per task): ${xRuntime.toFixed(2)} s; ratio ${(procSeconds / xRuntime).toFixed(2)}`,
    )
    try {
      lines.push(`engine: (node ${process.version}, ${cpus} cpus, ${execFileSync('uname', ['-r']).toString().trim()})`)
    } catch {
      /* no uname */
    }
  } finally {
    await bench.close()
  }
  return lines
}

function wallSeconds(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): number {
  const t0 = performance.now()
  const r = spawnSync(cmd, args, {
    env: opts.env ?? process.env,
    input: opts.input,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 20 * 60_000,
  })
  const s = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${String(r.stderr).slice(-2000)}`)
  return s
}

function trueWorkflow(n: number): string {
  const files = Array.from({ length: n }, (_, i) => `        - f${i}`).join('\n')
  return `version: 1
name: bench-true-${n}
data:
  datasets:
    - name: many
      files:
${files}
analysis:
  stages:
    - id: T
      op: shell
      params: { argv: ["true"], dataset: many, partition: file }
execution:
  pools:
    default: { workers: 2, resources: { cpus: 1 } }
`
}

const DASK_SCRIPT = `
import subprocess, sys
from dask.distributed import LocalCluster, Client
if __name__ == '__main__':
    n = int(sys.argv[1])
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    futures = client.map(lambda _: subprocess.run(["true"]).returncode, range(n))
    assert sum(client.gather(futures)) == 0
    client.close(); cluster.close()
`

/** `controlroom run` (whole process) vs Dask LocalCluster vs xargs -P2 on N tasks of `true` */
export async function benchCliVsPeers(): Promise<string[]> {
  const lines: string[] = []
  const sizes = (process.env.BENCH_CLI_TASKS || '1000,10000')
    .split(',')
    .map(Number)
    .filter((n) => n > 0)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cr-bench-cli-'))
  const cli = path.join(process.cwd(), 'bin', 'controlroom.js')
  const env = { ...process.env, CONTROLROOM_HOME: path.join(dir, 'home'), DATABASE_URL: '' }
  try {
    writeFileSync(path.join(dir, 'peer_dask.py'), DASK_SCRIPT)
    // the first command of a fresh home creates its database: not part of the measure
    writeFileSync(path.join(dir, 'warm.yaml'), trueWorkflow(2))
    wallSeconds(process.execPath, [cli, 'run', path.join(dir, 'warm.yaml'), '--json'], { env })
    lines.push(`cli: load average before: ${loadAverage()} (${os.cpus().length} cpus)`)
    for (const n of sizes) {
      const file = path.join(dir, `true-${n}.yaml`)
      writeFileSync(file, trueWorkflow(n))
      const ours = wallSeconds(process.execPath, [cli, 'run', file, '--json'], { env })
      const dask = wallSeconds('/usr/bin/python3', [path.join(dir, 'peer_dask.py'), String(n)])
      const xargs = wallSeconds('sh', ['-c', 'xargs -P 2 -n 1 true'], { input: Array(n).fill('x').join('\n') })
      lines.push(
        `cli: ${n} tasks of \`true\`, 2 workers: controlroom run ${ours.toFixed(2)} s (${((ours * 1000) / n).toFixed(2)} ms/task); Dask LocalCluster(2 procs) ${dask.toFixed(2)} s; xargs -P2 ${xargs.toFixed(2)} s; ratio controlroom/dask ${(ours / dask).toFixed(2)}, controlroom/xargs ${(ours / xargs).toFixed(2)}`,
      )
    }
    lines.push(`cli: load average after: ${loadAverage()}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return lines
}

if (process.argv[1] && /engine\.bench\.ts$/.test(process.argv[1])) {
  const which = process.argv.includes('--cli') ? benchCliVsPeers : benchEngine
  which()
    .then((ls) => {
      for (const l of ls) console.log(l)
      process.exit(0)
    })
    .catch((e) => {
      console.error(e)
      process.exit(1)
    })
}
