import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { saveVersion } from '../library/workflows.ts'
import { compileWorkflow } from '../workflow/index.ts'
import type { ExecutionPlan } from '../workflow/types.ts'
import { decideResume, previewResume, resumeRun } from './resume.ts'
import { getRun, listTasks, readLog, startRun } from './runs.ts'
import { setupEngineTest, type EngineTestEnv } from './testing.ts'

function plan(yaml: string): ExecutionPlan {
  const r = compileWorkflow(yaml)
  if (!r.plan) throw new Error('no plan')
  return r.plan
}

const chain = (bCommand: string, extra = '') => `version: 1
name: chain
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "echo a" }
    - id: B
      op: shell
      params: { command: "${bCommand}" }
    - id: C
      op: shell
      params: { command: "echo c" }${extra}
`

describe('decideResume (pure)', () => {
  const old = plan(chain('exit 3'))
  const counts = { A: { total: 1, succeeded: 1 }, B: { total: 1, succeeded: 0 }, C: { total: 1, succeeded: 0 } }

  it('reuses the unchanged upstream and re-runs the fixed stage and what follows it, saying why', () => {
    const d = decideResume(old, plan(chain('echo fixed')), counts)
    expect(d.reused).toEqual(['A'])
    expect(d.rerun).toEqual(['B', 'C'])
    const by = Object.fromEntries(d.stages.map((s) => [s.stageId, s]))
    expect(by.A).toMatchObject({ verdict: 'reused', reusedTasks: 1 })
    expect(by.A!.reason).toMatch(/unchanged and succeeded/)
    expect(by.B).toMatchObject({ verdict: 'changed', changes: ['params.command'] })
    expect(by.B!.reason).toBe('its definition changed: params.command')
    expect(by.C).toMatchObject({ verdict: 'upstream-reruns' })
    expect(by.C!.reason).toMatch(/upstream stage B runs again/)
  })

  it('an edit upstream re-runs everything downstream even when the downstream stage succeeded', () => {
    const allOk = { A: { total: 1, succeeded: 1 }, B: { total: 1, succeeded: 1 }, C: { total: 1, succeeded: 0 } }
    const edited = plan(chain('exit 3').replace('echo a', 'echo a2'))
    const d = decideResume(old, edited, allOk)
    expect(d.reused).toEqual([])
    expect(d.stages.map((s) => s.verdict)).toEqual(['changed', 'upstream-reruns', 'upstream-reruns'])
  })

  it('where a stage runs (its pool and resources) does not stop reuse; a new stage and a removed one are named', () => {
    const moved = plan(`version: 1
name: chain
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "echo a" }
      execution: { require: big }
    - id: B
      op: shell
      params: { command: "echo fixed" }
    - id: D
      op: shell
      params: { command: "echo d" }
execution:
  pools:
    default: { workers: 1 }
    big: { workers: 1, resources: { cpus: 2 } }
`)
    const d = decideResume(old, moved, counts)
    expect(d.reused).toEqual(['A'])
    expect(d.stages.find((s) => s.stageId === 'D')).toMatchObject({ verdict: 'new' })
    expect(d.removed).toEqual(['C'])
  })

  it('a partly succeeded stage reuses its succeeded tasks and its downstream runs again', () => {
    const d = decideResume(old, plan(chain('exit 3')), {
      A: { total: 4, succeeded: 3 },
      B: { total: 1, succeeded: 0 },
      C: { total: 1, succeeded: 0 },
    })
    expect(d.stages[0]).toMatchObject({ verdict: 'partly-reused', reusedTasks: 3 })
    expect(d.stages[0]!.reason).toMatch(/3 of 4 tasks succeeded/)
    expect(d.stages[1]).toMatchObject({ verdict: 'upstream-reruns' })
  })

  it('a changed registry command of a custom op, or a changed environment, is a change', () => {
    const custom = (cmd: string) => `version: 1
name: c
analysis:
  stages:
    - id: A
      op: custom.index
registry:
  ops:
    custom.index: { command: ["sh", "-c", "${cmd}"] }
`
    const d = decideResume(plan(custom('echo 1')), plan(custom('echo 2')), { A: { total: 1, succeeded: 1 } })
    expect(d.stages[0]).toMatchObject({ verdict: 'changed', changes: ['registry'] })
    const env = decideResume(
      plan(custom('echo 1')),
      { ...plan(custom('echo 1')), environment: { type: 'conda-pack', archive_path: '/x.tar.gz' } },
      { A: { total: 1, succeeded: 1 } },
    )
    expect(env.stages[0]).toMatchObject({ verdict: 'changed', changes: ['environment'] })
  })
})

describe('resumeRun (engine, SQLite)', () => {
  let env: EngineTestEnv
  let scratch: string
  beforeAll(async () => {
    env = await setupEngineTest()
    scratch = mkdtempSync(path.join(os.tmpdir(), 'cr-resume-'))
  })
  afterAll(async () => {
    await env?.cleanup()
    rmSync(scratch, { recursive: true, force: true })
  })

  it('fix and resume: the edited version re-runs the failed stage on the reused upstream output, once', async () => {
    const counter = path.join(scratch, 'a-count')
    const yaml = (b: string) => `version: 1
name: resume
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "echo a >> ${counter}; echo a-output > $CONTROLROOM_TASK_DIR/a.txt" }
    - id: B
      op: shell
      params:
        command: |
          ${b}
          dir=$(/usr/bin/python3 -c 'import json, os; print(json.loads(os.environ["CONTROLROOM_INPUTS"])["A"][0])')
          cat "$dir/a.txt"
    - id: C
      op: noop
`
    const actor = { id: null, name: 'tester', mode: 'token' as const, admin: true }
    const v1 = await saveVersion(env.t.db, actor, { yaml: yaml('exit 3') })
    const { runId } = await startRun({ versionId: v1.version.id }, env.engine)
    expect(await env.waitFor(runId)).toBe('failed')

    const v2 = await saveVersion(env.t.db, actor, {
      workflowId: v1.workflow.id,
      parentVersionId: v1.version.id,
      yaml: yaml('echo fixed'),
    })
    const preview = await previewResume(env.t.db, { runId, versionId: v2.version.id })
    expect(preview).toMatchObject({ reused: ['A'], rerun: ['B', 'C'], versionNumber: 2 })

    const resumed = await resumeRun({ runId, versionId: v2.version.id }, env.engine)
    expect(await env.waitFor(resumed.runId)).toBe('succeeded')
    const { items } = await listTasks(env.t.db, { runId: resumed.runId, limit: 100 })
    const t = Object.fromEntries(items.map((x) => [x.stageId, x]))
    expect(t.A).toMatchObject({ state: 'succeeded', reason: `reused from run ${runId}` })
    expect(t.B!.state).toBe('succeeded')
    expect((await readLog(env.t.db, { taskId: t.B!.id, stream: 'stdout' })).text).toContain('a-output')
    expect(readFileSync(counter, 'utf8')).toBe('a\n') // A ran once in all
    const info = await getRun(env.t.db, resumed.runId)
    expect(info.run).toMatchObject({ versionNumber: 2, reusedFrom: runId })
  })

  it('refuses to resume a run that did not fail, and a version of another workflow, saying why', async () => {
    const actor = { id: null, name: 'tester', mode: 'token' as const, admin: true }
    const ok = await saveVersion(env.t.db, actor, { yaml: chain('echo ok') })
    const { runId } = await startRun({ versionId: ok.version.id }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')
    await expect(previewResume(env.t.db, { runId, versionId: ok.version.id })).rejects.toThrow(
      /is succeeded: only a failed or cancelled run can be resumed/,
    )
    const bad = await saveVersion(env.t.db, actor, { yaml: chain('exit 1') })
    const failed = await startRun({ versionId: bad.version.id }, env.engine)
    expect(await env.waitFor(failed.runId)).toBe('failed')
    await expect(previewResume(env.t.db, { runId: failed.runId, versionId: ok.version.id })).rejects.toThrow(
      /belongs to another workflow/,
    )
    // only the run's owner (or an admin) resumes it
    const mallory = { id: null, name: 'mallory', mode: 'users' as const, admin: false }
    await expect(
      resumeRun({ runId: failed.runId, versionId: bad.version.id, actor: mallory }, env.engine),
    ).rejects.toThrow(/only the owner of run .* \(or an admin\) can resume it: you are signed in as mallory/)
  })
})
