/**
 * The run-wide log over a real local run: every task's lines with stage and stream, filtered by
 * stage, each line with the time it was written (stdout and stderr interleaved as written), redacted
 * like the page's task log; the download is one text with a header per task and stream and an ISO
 * time column.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readRunLogLines, runLogDownload } from './run-log.ts'
import { startRun } from './runs.ts'
import { setupEngineTest, type EngineTestEnv } from './testing.ts'

let env: EngineTestEnv
beforeAll(async () => {
  env = await setupEngineTest()
})
afterAll(async () => {
  await env?.cleanup()
})

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl'

describe('run-wide log', () => {
  it('reads every task, filters by stage, redacts, and downloads as one file', async () => {
    const versionId = await env.save(`version: 1
name: runlog
analysis:
  stages:
    - id: Alpha
      op: shell
      needs: []
      params: { command: "echo alpha one; echo alpha two; echo token ${JWT} >&2" }
    - id: Beta
      op: shell
      needs: []
      params: { command: "echo beta one" }
`)
    const { runId } = await startRun({ versionId }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')

    const all = await readRunLogLines(env.t.db, { runId })
    expect(all.total).toBe(2)
    const texts = all.lines.map((l) => `${l.stage}/${l.stream}: ${l.text}`)
    expect(texts).toEqual(
      expect.arrayContaining(['Alpha/stdout: alpha one', 'Alpha/stdout: alpha two', 'Beta/stdout: beta one']),
    )
    const secretLine = all.lines.find((l) => l.stream === 'stderr')!
    expect(secretLine.text).not.toContain(JWT)
    expect(secretLine.text).toContain('[REDACTED')
    expect(all.lines.every((l) => typeof l.at === 'number')).toBe(true)

    const beta = await readRunLogLines(env.t.db, { runId, stage: 'Beta' })
    expect(beta.lines.map((l) => l.text)).toEqual(['beta one'])

    // the timeline's queue wait: each task's queued time, before its start
    const { listTasks } = await import('./runs.ts')
    const tasks = await listTasks(env.t.db, { runId, withQueued: true })
    for (const t of tasks.items) {
      expect(t.queuedAt, t.stageId).toBeInstanceOf(Date)
      expect(t.queuedAt!.getTime()).toBeLessThanOrEqual(t.startedAt!.getTime())
    }

    let file = ''
    for await (const part of runLogDownload(env.t.db, { runId })) file += part
    const iso = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\t'
    expect(file).toMatch(
      new RegExp(
        `===== Alpha · task \\S+ · pool default · succeeded · stdout =====\\n${iso}alpha one\\n${iso}alpha two\\n`,
      ),
    )
    expect(file).toMatch(new RegExp(`${iso}beta one\\n`))
    expect(file).not.toContain(JWT)
  }, 60_000)

  it('times every line as written, interleaving stdout and stderr, also around a redacted PEM block', async () => {
    const pem = ['-----BEGIN PRIVATE KEY-----', 'MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7', '-----END PRIVATE KEY-----']
    const versionId = await env.save(`version: 1
name: timed
analysis:
  stages:
    - id: Timed
      op: shell
      needs: []
      params: { command: "echo first; sleep 0.4; echo second >&2; sleep 0.4; printf -- '${pem.join('\\n')}\\n'; echo third" }
`)
    const { runId } = await startRun({ versionId }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')
    const { lines } = await readRunLogLines(env.t.db, { runId })
    expect(lines.map((l) => `${l.stream}: ${l.text}`)).toEqual([
      'stdout: first',
      'stderr: second',
      'stdout: [REDACTED PRIVATE KEY]',
      'stdout: third',
    ])
    const [first, second, key, third] = lines.map((l) => l.at!)
    expect(second! - first!).toBeGreaterThanOrEqual(350)
    expect(key! - second!).toBeGreaterThanOrEqual(350)
    expect(third).toBeGreaterThanOrEqual(key!)

    let file = ''
    for await (const part of runLogDownload(env.t.db, { runId })) file += part
    expect(file).not.toContain('MIIBVQ')
    const stdout = file.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT[\d:.]+Z\t/.test(l))
    expect(stdout.map((l) => l.split('\t')[1])).toEqual(['first', '[REDACTED PRIVATE KEY]', 'third', 'second'])
    expect(Date.parse(stdout[0]!.split('\t')[0]!)).toBe(first)
  }, 60_000)
})
