/**
 * The run-wide log over a real local run: every task's lines with stage and stream, filtered by
 * stage, stamped with the attempt's start, redacted like the page's task log; the download is one
 * text with a header per task and stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readRunLogLines, runLogDownload, stampLines } from './run-log.ts'
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
    expect(file).toMatch(/===== Alpha · task \S+ · pool default · succeeded · stdout =====\nalpha one\nalpha two\n/)
    expect(file).toContain('beta one\n')
    expect(file).not.toContain(JWT)
  }, 60_000)

  it('stamps lines with the attempt marker that precedes them', () => {
    const lines = stampLines('a\n--- controlroom: attempt 2 at 2026-01-01T10:00:05.000Z ---\nb\n', 1000)
    expect(lines).toEqual([
      { at: 1000, text: 'a' },
      {
        at: Date.parse('2026-01-01T10:00:05.000Z'),
        text: '--- controlroom: attempt 2 at 2026-01-01T10:00:05.000Z ---',
      },
      { at: Date.parse('2026-01-01T10:00:05.000Z'), text: 'b' },
    ])
  })
})
