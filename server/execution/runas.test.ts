/**
 * Running a run as another OS user (RunOptions.runAs): a real system user is created for the test
 * (useradd, removed afterwards). Its tasks run with its uid/gid and no supplementary groups, HOME
 * set to its home, and cannot read a 0600 file of the server's user; the run directory is its own,
 * 0700. Needs root (the server can only switch users as root): this machine's tests run as root.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { saveVersion } from '../library/workflows.ts'
import { compileWorkflow } from '../workflow/index.ts'
import { listTasks } from './runs.ts'
import { setupEngineTest, type EngineTestEnv } from './testing.ts'
import type { RunAs } from './types.ts'

let env: EngineTestEnv
let scratch: string
const user = `crtest${process.pid % 100000}`
let runAs: RunAs

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('runas.test.ts needs root: the server switches users only as root')
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user])
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim())
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cr-runas-'))
  const home = path.join(scratch, 'home')
  mkdirSync(home)
  execFileSync('chown', [`${uid}:${gid}`, home])
  runAs = { user, uid, gid, home }
  env = await setupEngineTest()
})
afterAll(async () => {
  await env?.cleanup()
  try {
    execFileSync('userdel', [user])
  } catch {
    /* not created */
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

describe('a run with runAs', () => {
  it("runs its tasks as that user, without the server's groups, and they cannot read the server's files", async () => {
    const secret = path.join(scratch, 'server-secret')
    writeFileSync(secret, 'top secret', { mode: 0o600 })
    const yaml = `version: 1
name: runas
analysis:
  stages:
    - id: Who
      op: shell
      params: { command: "id -u; id -g; id -G; echo HOME=$HOME; echo USER=$USER; cat ${secret} || echo cannot-read" }
`
    const saved = await saveVersion(env.t.db, { id: null, name: 'tester', mode: 'token', admin: true }, { yaml })
    const plan = compileWorkflow(yaml, { forRun: true }).plan!
    const { runId } = await env.engine.createRun({
      workflowId: saved.workflow.id,
      versionId: saved.version.id,
      plan,
      options: { runAs },
    })
    expect(await env.waitFor(runId)).toBe('succeeded')
    const { items } = await listTasks(env.t.db, { runId })
    const run = await env.t.db.run.findUnique({ where: { id: runId } })
    const taskDir = path.join(run!.runDir!, 'tasks', items[0]!.id)
    const out = readFileSync(path.join(taskDir, 'stdout.log'), 'utf8').trim().split('\n')
    expect(out.slice(0, 3)).toEqual([String(runAs.uid), String(runAs.gid), String(runAs.gid)])
    expect(out).toContain(`HOME=${runAs.home}`)
    expect(out).toContain(`USER=${user}`)
    expect(out.at(-1)).toBe('cannot-read')
    expect(readFileSync(path.join(taskDir, 'stderr.log'), 'utf8')).toMatch(/Permission denied/)
    // the run directory and tasks/ are the server's, which the user passes through but cannot list
    // or change; the task's directory and files are the user's, not readable by others
    for (const p of [run!.runDir!, path.dirname(taskDir)]) {
      const st = statSync(p)
      expect(st.uid, p).toBe(process.getuid!())
      expect(st.mode & 0o777, p).toBe(0o711)
    }
    expect(statSync(taskDir).uid).toBe(runAs.uid)
    expect(statSync(taskDir).mode & 0o077).toBe(0)
    expect(statSync(path.join(taskDir, 'stdout.log')).uid).toBe(runAs.uid)
  })

  it('refuses a runAs that would be root', async () => {
    const yaml =
      'version: 1\nname: runas-root\nanalysis:\n  stages:\n    - id: A\n      op: shell\n      params: { argv: ["true"] }\n'
    const saved = await saveVersion(env.t.db, { id: null, name: 'tester', mode: 'token', admin: true }, { yaml })
    const plan = compileWorkflow(yaml, { forRun: true }).plan!
    await expect(
      env.engine.createRun({
        workflowId: saved.workflow.id,
        versionId: saved.version.id,
        plan,
        options: { runAs: { user: 'root', uid: 0, gid: 0, home: '/root' } },
      }),
    ).rejects.toThrow(/never run as root/)
  })
})
