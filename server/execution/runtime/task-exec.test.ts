/**
 * One attempt of a command (runtime/task-exec.mjs): the command writes its log files itself, and
 * every line still gets the time it was written (log-times.tsv, read as the log page reads it).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseLogTimes, timeAt } from '../../operations/log-times.ts'
import { startTask } from './task-exec.mjs'

const scratch = mkdtempSync(path.join(os.tmpdir(), 'cr-task-exec-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

async function attempt(name: string, argv: string[], n = 0) {
  const taskDir = path.join(scratch, name)
  mkdirSync(taskDir, { recursive: true })
  const spec = {
    version: 1,
    runId: 'r',
    taskId: name,
    stageId: 'S',
    attempt: n,
    argv,
    env: {},
    cwd: taskDir,
    taskDir,
    runDir: scratch,
    stdoutPath: path.join(taskDir, 'stdout.log'),
    stderrPath: path.join(taskDir, 'stderr.log'),
    resultPath: path.join(taskDir, 'result.json'),
    outputsPath: path.join(taskDir, 'outputs.json'),
    timeoutSeconds: null,
    collect: {},
  }
  const result = await startTask(spec, { baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, taskKey: `k-${name}` })
    .done
  return { taskDir, result }
}

const read = (dir: string, f: string) => readFileSync(path.join(dir, f), 'utf8')

describe('a command writing its own logs', () => {
  it('gives each line the time it was written, stdout and stderr interleaved in order', async () => {
    const { taskDir, result } = await attempt('timed', ['sh', '-c', 'echo a; sleep 0.4; echo b >&2; sleep 0.3; echo c'])
    expect(result).toMatchObject({ exitCode: 0, error: null })
    expect(read(taskDir, 'stdout.log')).toBe('a\nc\n')
    expect(read(taskDir, 'stderr.log')).toBe('b\n')
    const idx = parseLogTimes(read(taskDir, 'log-times.tsv'))
    const a = timeAt(idx, 'stdout', 0)!
    const b = timeAt(idx, 'stderr', 0)!
    const c = timeAt(idx, 'stdout', 2)!
    expect(b.ms - a.ms).toBeGreaterThanOrEqual(350)
    expect(c.ms - b.ms).toBeGreaterThanOrEqual(250)
    expect(a.seq).toBeLessThan(b.seq)
    expect(b.seq).toBeLessThan(c.seq)
    const started = Date.parse(JSON.parse(read(taskDir, 'result.json')).startedAt)
    expect(a.ms).toBeGreaterThanOrEqual(started)
  })

  it('leaves no log files when it writes nothing, and no attempt marker on a quiet retry', async () => {
    const quiet = await attempt('quiet', ['true'])
    expect(quiet.result).toMatchObject({ exitCode: 0 })
    expect(existsSync(path.join(quiet.taskDir, 'stdout.log'))).toBe(false)
    expect(existsSync(path.join(quiet.taskDir, 'stderr.log'))).toBe(false)

    mkdirSync(path.join(scratch, 'retried'))
    writeFileSync(path.join(scratch, 'retried', 'stdout.log'), 'first attempt\n')
    const again = await attempt('retried', ['true'], 1)
    expect(again.result).toMatchObject({ exitCode: 0, attempt: 1 })
    expect(read(again.taskDir, 'stdout.log')).toBe('first attempt\n')
    expect(existsSync(path.join(again.taskDir, 'stderr.log'))).toBe(false)
  })

  it('a retry that writes appends after a marker line, and its line has its own time', async () => {
    mkdirSync(path.join(scratch, 'marked'))
    writeFileSync(path.join(scratch, 'marked', 'stdout.log'), 'one\n')
    const { taskDir } = await attempt('marked', ['sh', '-c', 'echo two'], 1)
    const text = read(taskDir, 'stdout.log')
    expect(text).toMatch(/^one\n--- controlroom: attempt 2 at \S+ ---\ntwo\n$/)
    const idx = parseLogTimes(read(taskDir, 'log-times.tsv'))
    expect(timeAt(idx, 'stdout', text.indexOf('two'))).not.toBeNull()
  })
})
