/**
 * Run directory layout:
 *   <CONTROLROOM_HOME or ./var>/runs/<runId>/
 *     plan.json                      the frozen plan
 *     tasks/<taskId>/spec.json       what the runtime executes (rewritten per attempt)
 *     tasks/<taskId>/started.json    written by the runtime when it starts (pid, start ticks)
 *     tasks/<taskId>/stdout.log      appended per attempt (attempt > 0 starts with a marker line)
 *     tasks/<taskId>/stderr.log
 *     tasks/<taskId>/result.json     the last attempt's result; earlier ones kept as result.<n>.json
 *     tasks/<taskId>/outputs.json    optional JSON outputs written by the command
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { existsSync } from 'node:fs'
import { readSetting } from '../settings.ts'

export function controlroomHomeDir(): string {
  return readSetting('CONTROLROOM_HOME')
}

export function runsRoot(): string {
  return path.join(controlroomHomeDir(), 'runs')
}

export function runDirFor(runId: string): string {
  return path.join(runsRoot(), runId)
}

export function taskDirFor(runDir: string, taskId: string): string {
  return path.join(runDir, 'tasks', taskId)
}

export function taskFiles(taskDir: string) {
  return {
    spec: path.join(taskDir, 'spec.json'),
    started: path.join(taskDir, 'started.json'),
    stdout: path.join(taskDir, 'stdout.log'),
    stderr: path.join(taskDir, 'stderr.log'),
    result: path.join(taskDir, 'result.json'),
    outputs: path.join(taskDir, 'outputs.json'),
  }
}

const here = path.dirname(fileURLToPath(import.meta.url))

/** the task runtime (plain ESM JavaScript: starts in ~50 ms, no transpiler) */
let besideThis: boolean | null = null
export function runtimeScript(): string {
  const p = path.join(here, 'runtime', 'runner.mjs')
  // looked for once (it is asked for every task)
  besideThis ??= existsSync(p)
  if (besideThis) return p
  // bundled (Next.js server chunks): fall back to the source tree
  return path.join(readSetting('CONTROLROOM_APP_ROOT'), 'server', 'execution', 'runtime', 'runner.mjs')
}

export function pythonShim(): string {
  return path.join(path.dirname(runtimeScript()), 'pyshim.py')
}

/** argv that runs the task runtime for a spec file */
export function runtimeArgv(specPath: string): string[] {
  return [process.execPath, runtimeScript(), '--spec', specPath]
}

/** true when `p` is `root` or below it (both absolute; resolve symlinks first where that matters) */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}
