/**
 * `{param}` values reach commands as data, in every form, through real tasks: a value holding
 * `$(...)`, backquotes, quotes or `;` is printed as text and runs nothing, whether the placeholder
 * sits unquoted, inside double or single quotes of a string command, or in the script of
 * `["sh", "-c", "..."]`; a value with spaces stays one argument.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readLog, startRun } from './runs.ts'
import { setupEngineTest, type EngineTestEnv } from './testing.ts'
import { substituteArgv, substituteShell } from './placeholders.ts'

let env: EngineTestEnv
beforeAll(async () => {
  env = await setupEngineTest()
})
afterAll(async () => {
  await env?.cleanup()
})

const marks = mkdtempSync(path.join(os.tmpdir(), 'cr-inject-'))
const HOSTILE = [
  `$(touch ${marks}/dollar)`,
  `\`touch ${marks}/backquote\``,
  `"; touch ${marks}/dq; echo "`,
  `'; touch ${marks}/sq; echo '`,
  `a b  c`,
]

function yamlFor(command: string) {
  const stages = HOSTILE.map(
    (msg, i) => `    - id: S${i}
      op: custom.say
      needs: []
      params: { msg: ${JSON.stringify(msg)} }`,
  ).join('\n')
  return `name: inject
analysis:
  stages:
${stages}
registry:
  ops:
    custom.say: { command: ${command} }
`
}

async function outputs(command: string): Promise<string[]> {
  const { runId } = await startRun({ versionId: await env.save(yamlFor(command)) }, env.engine)
  expect(await env.waitFor(runId)).toBe('succeeded')
  const tasks = await env.t.db.task.findMany({ where: { runId }, orderBy: { stageId: 'asc' } })
  return Promise.all(tasks.map(async (t) => (await readLog(env.t.db, { taskId: t.id, stream: 'stdout' })).text))
}

describe('placeholders are data', () => {
  const forms: [string, string, (msg: string) => string][] = [
    ['unquoted in a string command', `"printf '[%s]' {msg}"`, (m) => `[${m}]`],
    ['inside double quotes', `"printf '[%s]' \\"got: {msg}\\""`, (m) => `[got: ${m}]`],
    ['inside single quotes', `"printf '[%s]' 'got: {msg}'"`, (m) => `[got: ${m}]`],
    ['in the list form sh -c', `["sh", "-c", "printf '[%s]' \\"{msg}\\" {msg}"]`, (m) => `[${m}][${m}]`],
    ['a whole argv element', `["printf", "[%s]", "{msg}"]`, (m) => `[${m}]`],
  ]
  for (const [what, command, expected] of forms)
    it(`${what}: printed as text, nothing run, one argument`, async () => {
      const out = await outputs(command)
      expect(out).toEqual(HOSTILE.map(expected))
      expect(readdirSync(marks)).toEqual([])
    }, 60_000)

  it('keeps ordinary shell patterns working (variables, pipes, builtin placeholders)', async () => {
    const { runId } = await startRun(
      {
        versionId: await env.save(`name: ok
analysis:
  stages:
    - id: Count
      op: custom.count
      params: { word: "b" }
registry:
  ops:
    custom.count: { command: "printf 'a\\\\nb\\\\nb\\\\n' | grep -c {word}; echo \\"stage={stage} n=$((1+1))\\"" }
`),
      },
      env.engine,
    )
    expect(await env.waitFor(runId)).toBe('succeeded')
    const t = await env.t.db.task.findFirstOrThrow({ where: { runId } })
    expect((await readLog(env.t.db, { taskId: t.id, stream: 'stdout' })).text).toBe('2\nstage=Count n=2\n')
    expect(existsSync(marks)).toBe(true)
  }, 60_000)

  it('puts shell text placeholders in variables that fit the quoting', () => {
    expect(substituteShell(`echo {a} "x{a}" 'y{a}' \\{a}`, { a: 'v' })).toEqual({
      script: `echo "\${CR_P_a}" "x\${CR_P_a}" 'y'"\${CR_P_a}"'' \\{a}`,
      env: { CR_P_a: 'v' },
    })
    expect(substituteArgv(['bash', '-lc', 'run {x.y}', '{x.y}'], { 'x.y': 1 })).toEqual({
      argv: ['bash', '-lc', 'run "${CR_P_x_y}"', '1'],
      env: { CR_P_x_y: '1' },
    })
  })
})
