import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setupEngineTest, type EngineTestEnv } from '../execution/testing.ts'
import { listTasks, readLog } from '../execution/runs.ts'
import { launchRun, runOrigin } from './launch.ts'
import { applyParameters, parseParameterLines } from './parameters.ts'

const yaml = `version: 1
name: params
analysis:
  stages:
    - id: Greet
      op: shell
      params: { command: "echo hello" }
    - id: Done
      op: noop
execution:
  pools:
    default: { workers: 1 }
`

describe('run parameters', () => {
  it('parses override lines and says which line is wrong', () => {
    const r = parseParameterLines(
      '# comment\nGreet.command = "echo hi"\n\nexecution.pools.default.workers = 2\nnonsense\nA.b =',
    )
    expect(r.parameters).toEqual([
      { key: 'Greet.command', value: '"echo hi"' },
      { key: 'execution.pools.default.workers', value: '2' },
    ])
    expect(r.problems).toEqual([
      { line: 5, message: 'expected `Stage.param = value` or `execution.key = value`, got `nonsense`' },
      { line: 6, message: 'A.b has no value after =' },
    ])
  })

  it('applies stage params and execution keys to the YAML', () => {
    const out = applyParameters(yaml, [
      { key: 'Greet.command', value: 'echo bonjour' },
      { key: 'execution.pools.default.workers', value: '3' },
    ])
    expect(out).toContain('command: echo bonjour')
    expect(out).toMatch(/workers: 3/)
    expect(() => applyParameters(yaml, [{ key: 'Nope.x', value: '1' }])).toThrow(
      "override 1 (Nope.x): no stage 'Nope' (stages: Greet, Done)",
    )
  })
})

describe('launchRun (engine, SQLite)', () => {
  let env: EngineTestEnv
  beforeAll(async () => {
    env = await setupEngineTest()
  })
  afterAll(async () => env?.cleanup())

  it('runs with the overridden params and records them on the run', async () => {
    const versionId = await env.save(yaml)
    const parameters = [{ key: 'Greet.command', value: '"echo overridden-at-launch"' }]
    const { runId } = await launchRun({ versionId, parameters }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')
    const { items } = await listTasks(env.t.db, { runId, stage: 'Greet' })
    expect((await readLog(env.t.db, { taskId: items[0]!.id, stream: 'stdout' })).text).toContain('overridden-at-launch')
    expect(await runOrigin(env.t.db, runId)).toMatchObject({ parameters, resumedFrom: null })
  })

  it('refuses parameters that make the workflow invalid, with the compiler message', async () => {
    const versionId = await env.save(yaml)
    await expect(
      launchRun({ versionId, parameters: [{ key: 'execution.backend', value: 'kubernetes' }] }, env.engine),
    ).rejects.toThrow(/with these parameters the workflow does not compile: execution\.backend/)
  })

  it('only the workflow owner (or an admin) launches it', async () => {
    const versionId = await env.save(yaml)
    const mallory = { id: null, name: 'mallory', mode: 'users' as const, admin: false }
    await expect(launchRun({ versionId, parameters: [], actor: mallory }, env.engine)).rejects.toThrow(
      /only the owner of workflow "params" \(or an admin\) can run it/,
    )
  })
})
