/** `controlroom run` / `controlroom runs` through the dispatcher, on a test database (in-process). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setDb } from '../../db/client.ts'
import { createTestDatabase, type TestDatabase } from '../../db/testing.ts'
import { setEngine } from '../../execution/engine.ts'
import { main } from '../main.ts'

let t: TestDatabase
let dir: string

function io() {
  const out: string[] = []
  const err: string[] = []
  return {
    out,
    err,
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cr-cli-run-'))
  process.env.CONTROLROOM_HOME = dir
  t = await createTestDatabase('sqlite')
  setDb(t.db, t.url)
  setEngine(undefined)
})
afterAll(async () => {
  setEngine(undefined)
  ;(globalThis as { __controlroomDb?: unknown }).__controlroomDb = undefined
  await t?.cleanup()
  rmSync(dir, { recursive: true, force: true })
})

describe('controlroom run', () => {
  it('saves the file as a version, runs it, prints a summary and exits 0 on success', async () => {
    const file = path.join(dir, 'ok.yaml')
    writeFileSync(
      file,
      `version: 1\nname: cli-ok\nanalysis:\n  stages:\n    - id: Hello\n      op: shell\n      params: { command: "echo hi" }\n    - id: Done\n      op: noop\n`,
    )
    const c = io()
    expect(await main(['run', file], c.io)).toBe(0)
    const text = c.out.join('')
    expect(text).toMatch(/workflow "cli-ok" version 1/)
    expect(text).toMatch(/Hello\s+succeeded/)
    expect(text).toMatch(/run \S+ succeeded in/)
    setDb(t.db, t.url)
    setEngine(undefined)
    // the same file again: unchanged version, a second run, JSON output
    const j = io()
    expect(await main(['run', file, '--json'], j.io)).toBe(0)
    const res = JSON.parse(j.out.join(''))
    expect(res).toMatchObject({ ok: true, state: 'succeeded', counts: { succeeded: 2 } })
    const runs = await t.db.run.findMany({ where: { workflowId: res.workflowId } })
    expect(runs.map((r) => r.source)).toEqual(['cli', 'cli'])
    expect(await t.db.workflowVersion.count({ where: { workflowId: res.workflowId } })).toBe(1)
  })

  it('exits 1 when the run fails, and when it is refused', async () => {
    setDb(t.db, t.url)
    setEngine(undefined)
    const file = path.join(dir, 'bad.yaml')
    writeFileSync(
      file,
      `version: 1\nname: cli-bad\nanalysis:\n  stages:\n    - id: Boom\n      op: shell\n      params: { command: "exit 4" }\n`,
    )
    const c = io()
    expect(await main(['run', file, '--json'], c.io)).toBe(1)
    const res = JSON.parse(c.out.join(''))
    expect(res).toMatchObject({ ok: false, state: 'failed', failed: [{ stage: 'Boom', reason: 'exit code 4' }] })
    setDb(t.db, t.url)
    setEngine(undefined)
    const file2 = path.join(dir, 'gpu.yaml')
    writeFileSync(
      file2,
      `version: 1\nname: cli-gpu\nanalysis:\n  stages:\n    - id: T\n      op: noop\n      execution: { require: gpu }\nexecution:\n  pools:\n    gpu: { workers: 1, resources: { gpus: 64 } }\n`,
    )
    const d = io()
    expect(await main(['run', file2], d.io)).toBe(1)
    expect(d.err.join('')).toMatch(/pool 'gpu' needs 64 GPUs/)
  })

  it('usage errors exit 2', async () => {
    const c = io()
    expect(await main(['run'], c.io)).toBe(2)
    expect(await main(['run', path.join(dir, 'missing.yaml')], c.io)).toBe(2)
    expect(await main(['run', 'x.yaml', '--strategy', 'pbs'], c.io)).toBe(2)
  })

  it('controlroom runs lists the runs', async () => {
    setDb(t.db, t.url)
    const c = io()
    expect(await main(['runs', '--limit', '10'], c.io)).toBe(0)
    const lines = c.out.join('').trim().split('\n')
    expect(lines[0]).toMatch(/^RUN\s+STATE\s+WORKFLOW/)
    expect(lines.length).toBe(1 + 3)
    setDb(t.db, t.url)
    const j = io()
    expect(await main(['runs', '--json', '--state', 'failed'], j.io)).toBe(0)
    expect(JSON.parse(j.out.join('')).map((r: { workflowName: string }) => r.workflowName)).toEqual(['cli-bad'])
  })
})
