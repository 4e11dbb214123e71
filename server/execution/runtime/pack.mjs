#!/usr/bin/env node
// Control Room packed task runtime: ONE batch job runs several tasks of one pool
// `node pack.mjs --parallel <n> --spec <taskDir>/spec.json [--spec ...]`
//
// Used by the Slurm and HTCondor strategies when a pool packs tasks (`tasks_per_job` > 1): the job
// costs one scheduler job, one process start and, for module tasks (hep.* partitions), one import of
// the module, instead of one of each per task. Every task is still its own attempt (task-exec.mjs,
// shared with runner.mjs and the warm executor): its own started.json, logs, timeout and result.json,
// so the server reads each task's state from its files exactly as for a job of its own.
//
// - Up to --parallel tasks run at once (the pool's cpus), in the order given.
// - Cancel of ONE task: the server writes `<taskDir>/cancel.<attempt>` (a job cannot be scancelled for
//   one of its tasks). A running task is stopped like a cancelled job's (its process group and every
//   process carrying its CONTROLROOM_TASK_KEY); a task not started yet gets a `cancelled` result and
//   never runs. Checked every 250 ms and before each start.
// - SIGTERM/SIGINT/SIGHUP (scancel of the whole job, the time limit): the running tasks are stopped
//   and write their results; tasks not started are left without a result (the server reports them
//   cancelled or lost from the job's final state).
// Exit code: 0 when every task succeeded, 1 otherwise (the job's own state is not a task's outcome).
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startTask, writeJsonAtomic } from './task-exec.mjs'

const specs = []
let parallel = 1
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]
  if (a === '--spec') specs.push(process.argv[++i])
  else if (a === '--parallel') parallel = Math.max(1, Math.floor(Number(process.argv[++i])) || 1)
  else {
    process.stderr.write(`pack.mjs: unknown argument ${a}\nusage: pack.mjs --parallel <n> --spec <file> [--spec ...]\n`)
    process.exit(2)
  }
}
if (specs.length === 0) {
  process.stderr.write('usage: pack.mjs --parallel <n> --spec <file> [--spec ...]\n')
  process.exit(2)
}

const cancelFile = (spec) => path.join(spec.taskDir, `cancel.${spec.attempt}`)
const running = new Map()
let stopping = false
let failures = 0

function cancelledBeforeStart(spec) {
  const now = new Date().toISOString()
  writeJsonAtomic(spec.resultPath, {
    version: 1,
    taskId: spec.taskId,
    attempt: spec.attempt,
    exitCode: null,
    signal: null,
    timedOut: false,
    cancelled: true,
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    metrics: {},
    outputs: null,
    error: 'cancelled before it started (it was waiting in its packed job)',
    host: os.hostname(),
    pid: process.pid,
  })
}

async function runOne(specPath) {
  let spec
  try {
    spec = JSON.parse(fs.readFileSync(specPath, 'utf8'))
  } catch (e) {
    process.stderr.write(`pack.mjs: cannot read ${specPath}: ${e?.message ?? e}\n`)
    failures++
    return
  }
  fs.mkdirSync(spec.taskDir, { recursive: true })
  if (fs.existsSync(cancelFile(spec))) {
    cancelledBeforeStart(spec)
    failures++
    return
  }
  // every task gets its own kill key: a child that escaped with setsid is still found and killed
  const taskKey = spec.env?.CONTROLROOM_TASK_KEY ?? `pack-${randomUUID()}`
  const run = startTask(spec, { baseEnv: { ...process.env }, taskKey })
  running.set(spec.taskId, { spec, run })
  try {
    const result = await run.done
    if (result.exitCode !== 0 || result.cancelled || result.timedOut) failures++
  } finally {
    running.delete(spec.taskId)
  }
}

const watch = setInterval(() => {
  for (const { spec, run } of running.values()) if (fs.existsSync(cancelFile(spec))) run.stop('cancel')
}, 250)

function shutdown() {
  stopping = true
  for (const { run } of running.values()) run.stop('cancel')
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
process.on('SIGHUP', shutdown)

async function main() {
  let next = 0
  const lane = async () => {
    while (!stopping && next < specs.length) await runOne(specs[next++])
  }
  await Promise.all(Array.from({ length: Math.min(parallel, specs.length) }, lane))
  clearInterval(watch)
  process.exit(failures || stopping ? 1 : 0)
}

main().catch((e) => {
  process.stderr.write(`controlroom packed runtime: ${e?.stack || e}\n`)
  process.exit(70)
})
