#!/usr/bin/env node
// Control Room task runtime, one process per task: `node runner.mjs --spec <taskDir>/spec.json`
//
// Used where no warm executor runs the task (a Slurm / HTCondor job). Plain ESM JavaScript with no
// dependencies so it starts in ~50 ms on any node (no transpiler) and can run on a batch node that
// only sees the run directory. The attempt itself (task-exec.mjs, shared with the executor):
//   1. started.json (its pid, process group, /proc start ticks, the command's pid),
//   2. spec.argv in its own process group with stdout/stderr going straight to the log files
//      (appended; attempt > 0 starts with a marker line), or a module task (spec.module) in-process,
//   3. spec.timeoutSeconds (SIGTERM, then SIGKILL after a grace period; any length, chained timers),
//   4. SIGTERM/SIGINT/SIGHUP (cancel) forwarded to the command's group,
//   5. after the command exits, what it left behind in its group is killed,
//   6. result.json written atomically (tmp + rename): exit code, signal, metrics, outputs.
// Its own exit code is the command's (128 + signal number when killed).
import fs from 'node:fs'
import os from 'node:os'
import { startTask } from './task-exec.mjs'

function argValue(name) {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

async function main() {
  const specPath = argValue('--spec')
  if (!specPath) {
    process.stderr.write('usage: runner.mjs --spec <taskDir>/spec.json\n')
    process.exit(2)
  }
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'))
  fs.mkdirSync(spec.taskDir, { recursive: true })
  const run = startTask(spec, { baseEnv: { ...process.env }, taskKey: process.env.CONTROLROOM_TASK_KEY ?? null })
  process.on('SIGTERM', () => run.stop('cancel'))
  process.on('SIGINT', () => run.stop('cancel'))
  process.on('SIGHUP', () => run.stop('cancel'))
  const result = await run.done
  const sigNum = result.signal ? os.constants.signals[result.signal] || 1 : 0
  process.exit(result.exitCode ?? (sigNum ? 128 + sigNum : 1))
}

main().catch((e) => {
  process.stderr.write(`controlroom runtime: ${e?.stack || e}\n`)
  process.exit(70)
})
