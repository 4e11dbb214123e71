/**
 * poolProfileSummary through the real engine: a run with two pools, profiled and unprofiled stages,
 * real task processes, real SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { must } from '../must.ts'
import { poolProfileSummary } from './profile-summary.ts'
import { listTasks, startRun } from './runs.ts'
import { setupEngineTest, type EngineTestEnv } from './testing.ts'

let env: EngineTestEnv

beforeAll(async () => {
  env = await setupEngineTest()
})
afterAll(async () => {
  await env?.cleanup()
})

/** burns some CPU (so cutime is above one clock tick) and keeps running for a few RSS samples */
const BURN = `awk 'BEGIN { for (i = 0; i < 2000000; i++) s += i; print s }'`

describe('poolProfileSummary', () => {
  it('sums CPU and wall time and takes the max peak RSS of the profiled tasks per pool', async () => {
    const stage = (id: string, pool: string, profile: boolean) =>
      `    - id: ${id}\n      op: shell\n      needs: []\n      params: { command: ${JSON.stringify(BURN)} }\n` +
      (pool !== 'default' || profile
        ? `      execution: { ${pool === 'default' ? '' : `require: ${pool}`}${pool !== 'default' && profile ? ', ' : ''}${profile ? 'modifiers: [profile]' : ''} }\n`
        : '')
    const yaml =
      `version: 1\nname: pool-profile\nanalysis:\n  stages:\n` +
      stage('a1', 'default', true) +
      stage('a2', 'default', true) +
      stage('a3', 'default', false) +
      stage('b1', 'big', true) +
      stage('b2', 'big', true) +
      stage('b3', 'big', true) +
      `execution:\n  pools:\n    default: { workers: 2, resources: { cpus: 1 } }\n    big: { workers: 1, resources: { cpus: 1 } }\n`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')

    const { items } = await listTasks(env.t.db, { runId, limit: 1000 })
    expect(items).toHaveLength(6)
    const profiled = (pool: string) =>
      items.filter((t) => t.pool === pool && (t.modifiers as { name: string }[]).some((m) => m.name === 'profile'))
    expect(
      profiled('default')
        .map((t) => t.stageId)
        .sort(),
    ).toEqual(['a1', 'a2'])
    expect(
      profiled('big')
        .map((t) => t.stageId)
        .sort(),
    ).toEqual(['b1', 'b2', 'b3'])

    const rows = await poolProfileSummary(env.t.db, runId)
    expect(rows.map((r) => r.pool)).toEqual(['default', 'big'])
    for (const r of rows) {
      const ts = profiled(r.pool)
      const ms = ts.map((t) => t.metrics as Record<string, number>)
      expect(r.tasks).toBe(ts.length)
      const cpu = ms.reduce((s, m) => s + (m.cpuUserMs ?? 0) + (m.cpuSystemMs ?? 0), 0) / 1000
      const wall = ms.reduce((s, m) => s + must(m.wallMs, 'wallMs of a profiled task'), 0) / 1000
      const peak = Math.max(...ms.map((m) => must(m.peakRssBytes, 'peakRssBytes of a profiled task')))
      expect(r.totalCpuSeconds).toBeGreaterThan(0)
      expect(r.meanCpuSeconds).toBeGreaterThan(0)
      expect(r.totalWallSeconds).toBeGreaterThan(0)
      expect(r.maxPeakRssBytes).toBeGreaterThan(0)
      expect(r.totalCpuSeconds).toBeCloseTo(cpu, 9)
      expect(r.meanCpuSeconds).toBeCloseTo(cpu / ts.length, 9)
      expect(r.totalWallSeconds).toBeCloseTo(wall, 9)
      expect(r.maxPeakRssBytes).toBe(peak)
    }
  })

  it('is empty for a run without profiled tasks and for an unknown run', async () => {
    const yaml = `version: 1\nname: no-profile\nanalysis:\n  stages:\n    - id: A\n      op: shell\n      params: { command: "true" }\n`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')
    expect(await poolProfileSummary(env.t.db, runId)).toEqual([])
    expect(await poolProfileSummary(env.t.db, 'no-such-run')).toEqual([])
  })
})
