import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  buildLanes,
  coalesceBars,
  mergeTimeline,
  MIN_SPAN_MS,
  MIN_WINDOW_MS,
  packIntervals,
  panWindow,
  pendingSegment,
  timeTicks,
  timelineEnd,
  utilisation,
  windowTicks,
  zoomWindow,
  type GanttTask,
  type GanttWorker,
} from './gantt'

const task = (id: string, start: number, end: number | null, o: Partial<GanttTask> = {}): GanttTask => ({
  id,
  stage: 'S',
  pool: 'default',
  state: 'succeeded',
  workerId: null,
  start,
  end,
  ...o,
})
const worker = (id: string, pool = 'default', o: Partial<GanttWorker> = {}): GanttWorker => ({
  id,
  pool,
  state: 'running',
  batchJobId: null,
  host: null,
  startedAt: 0,
  endedAt: null,
  ...o,
})

describe('packIntervals', () => {
  it('packs non-overlapping tasks into one lane and overlapping ones apart', () => {
    const lanes = packIntervals([task('a', 0, 10), task('b', 10, 20), task('c', 5, 15), task('d', 15, 30)], 100)
    expect(lanes.map((l) => l.map((t) => t.id))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ])
  })
  it('a running task (no end) occupies its lane until now', () => {
    const lanes = packIntervals([task('a', 0, null), task('b', 50, 60)], 100)
    expect(lanes.length).toBe(2)
  })
  it('property: lanes never overlap and their number is the maximum overlap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 200 })), { maxLength: 200 }),
        (iv) => {
          const items = iv.map(([s, d], i) => task(`t${i}`, s, s + d))
          const lanes = packIntervals(items, 5000)
          expect(lanes.flat().length).toBe(items.length)
          for (const l of lanes)
            for (const [i, t] of l.entries())
              if (i > 0) expect(t.start).toBeGreaterThanOrEqual(l[i - 1]?.end ?? Infinity)
          let maxOverlap = 0
          for (const a of items)
            maxOverlap = Math.max(maxOverlap, items.filter((b) => b.start <= a.start && b.end! > a.start).length)
          expect(lanes.length).toBe(maxOverlap)
        },
      ),
    )
  })
})

describe('buildLanes', () => {
  it('one lane per worker, grouped by pool in plan order, workers without tasks included', () => {
    const groups = buildLanes(
      [
        task('a', 0, 10, { workerId: 'w1' }),
        task('b', 10, 20, { workerId: 'w1' }),
        task('c', 2, 8, { workerId: 'w2' }),
        task('g', 5, 9, { workerId: 'g1', pool: 'gpu' }),
      ],
      [
        worker('w1', 'default', { startedAt: 0 }),
        worker('w2', 'default', { startedAt: 1 }),
        worker('w3', 'default', { startedAt: 50 }),
        worker('g1', 'gpu'),
      ],
      { now: 100, poolOrder: ['gpu', 'default'] },
    )
    expect(groups.map((g) => g.pool)).toEqual(['gpu', 'default'])
    const def = groups[1]
    expect(def?.packed).toBe(false)
    expect(def?.lanes.map((l) => [l.workerId, l.tasks.map((t) => t.id)])).toEqual([
      ['w1', ['a', 'b']],
      ['w2', ['c']],
      ['w3', []],
    ])
  })
  it('labels batch workers by job id, and puts tasks without a worker in packed lanes', () => {
    const groups = buildLanes(
      [task('a', 0, 10, { workerId: 'j1' }), task('u', 0, 5), task('v', 1, 6)],
      [worker('j1', 'default', { batchJobId: '4242' })],
      { now: 100 },
    )
    expect(groups[0]?.lanes.map((l) => l.label)).toEqual(['job 4242', 'unassigned', 'unassigned'])
  })
  it('packs a pool with thousands of one-task workers (batch jobs) into few lanes', () => {
    const tasks: GanttTask[] = []
    const workers: GanttWorker[] = []
    for (let i = 0; i < 5000; i++) {
      tasks.push(task(`t${i}`, (i % 500) * 10, (i % 500) * 10 + 10, { workerId: `j${i}`, pool: 'slurm' }))
      workers.push(worker(`j${i}`, 'slurm', { batchJobId: String(1000 + i) }))
    }
    const [g] = buildLanes(tasks, workers, { now: 10_000 })
    expect(g?.packed).toBe(true)
    expect(g?.lanes.length).toBe(10) // 10 jobs run at any time
    expect(g?.lanes.reduce((n, l) => n + l.tasks.length, 0)).toBe(5000)
  })
})

describe('coalesceBars', () => {
  const scale = (t: number) => t / 10 // 10 ms per pixel
  it('keeps wide bars apart and merges tiny ones sharing a pixel cell, showing the most notable state', () => {
    const bars = coalesceBars(
      [task('a', 0, 100), task('b', 200, 201), task('c', 205, 206, { state: 'failed' }), task('d', 500, 600)],
      scale,
      1000,
    )
    expect(bars.map((b) => [b.task.id, b.count, b.state])).toEqual([
      ['a', 1, 'succeeded'],
      ['b', 2, 'failed'],
      ['d', 1, 'succeeded'],
    ])
    expect(bars[1]?.w).toBeGreaterThanOrEqual(2)
  })
  it('draws 10,000 back-to-back tasks in a lane with at most ~width/minPx rectangles', () => {
    const ts = Array.from({ length: 10_000 }, (_, i) =>
      task(`t${i}`, i * 3, i * 3 + 3, { state: i % 7 === 0 ? 'failed' : 'succeeded' }),
    )
    const width = 1000
    const bars = coalesceBars(ts, (t) => (t / 30_000) * width, 40_000)
    expect(bars.length).toBeLessThanOrEqual(width / 2 + 1)
    expect(bars.reduce((n, b) => n + b.count, 0)).toBe(10_000)
  })
  it('a running bar extends to now', () => {
    const [b] = coalesceBars([task('a', 0, null, { state: 'running' })], scale, 1000)
    expect(b?.w).toBe(100)
  })
})

describe('utilisation', () => {
  it('is the covered fraction of the window (overlaps counted once)', () => {
    expect(utilisation([task('a', 0, 50), task('b', 25, 75)], 0, 100)).toBeCloseTo(0.75)
    expect(utilisation([task('a', 0, null)], 0, 100, 40)).toBeCloseTo(0.4)
    expect(utilisation([], 0, 100)).toBe(0)
    expect(utilisation([task('a', 0, 10)], 10, 10)).toBe(0)
  })
})

describe('timeTicks', () => {
  it('uses round steps', () => {
    expect(timeTicks(0, 10_000).map((t) => t.label)).toEqual(['0s', '2s', '4s', '6s', '8s', '10s'])
    expect(timeTicks(0, 3_600_000, 6).map((t) => t.label)).toEqual(['0s', '10m', '20m', '30m', '40m', '50m', '1h'])
  })
})

describe('mergeTimeline', () => {
  it('newer streamed starts and ends replace fetched bars; tasks that never started have none', () => {
    const fetched = [task('a', 0, 10, { workerId: 'w1' }), task('b', 5, null, { state: 'running', workerId: 'w2' })]
    const out = mergeTimeline(fetched, [
      { id: 'b', stage: 'S', pool: 'default', state: 'succeeded', workerId: 'w2', startedAt: 5, finishedAt: 30 },
      { id: 'c', stage: 'T', pool: 'gpu', state: 'running', workerId: 'g1', startedAt: 20, finishedAt: null },
      { id: 'd', stage: 'T', pool: 'gpu', state: 'cancelled', workerId: null, startedAt: null, finishedAt: 25 },
    ])
    const byId = Object.fromEntries(out.map((t) => [t.id, t]))
    expect(Object.keys(byId).sort()).toEqual(['a', 'b', 'c'])
    expect(byId.b).toMatchObject({ state: 'succeeded', start: 5, end: 30 })
    expect(byId.c).toMatchObject({ state: 'running', end: null, pool: 'gpu', workerId: 'g1' })
  })
})

describe('timeline window', () => {
  const bounds = { from: 0, to: 60_000 }
  it('zooms around a point and stays inside the run', () => {
    const w = zoomWindow(bounds, 0.5, 30_000, bounds)
    expect(w).toEqual({ from: 15_000, to: 45_000 })
    expect(zoomWindow(w, 0.5, 15_000, bounds)).toEqual({ from: 15_000, to: 30_000 })
    expect(zoomWindow(w, 10, 0, bounds)).toEqual(bounds)
    expect(zoomWindow(bounds, 1e-9, 100, bounds).to - zoomWindow(bounds, 1e-9, 100, bounds).from).toBe(MIN_WINDOW_MS)
  })
  it('pans without leaving the run', () => {
    expect(panWindow({ from: 10_000, to: 20_000 }, 5_000, bounds)).toEqual({ from: 15_000, to: 25_000 })
    expect(panWindow({ from: 10_000, to: 20_000 }, -50_000, bounds)).toEqual({ from: 0, to: 10_000 })
    expect(panWindow({ from: 10_000, to: 20_000 }, 90_000, bounds)).toEqual({ from: 50_000, to: 60_000 })
  })
  it('draws a short run over its own span, with millisecond ticks', () => {
    expect(timelineEnd(1000, 1042)).toBe(1042)
    expect(windowTicks(1000, 1000, timelineEnd(1000, 1042), 8).map((t) => t.label)).toEqual([
      '0ms',
      '10ms',
      '20ms',
      '30ms',
      '40ms',
    ])
    expect(windowTicks(0, 0, 504, 8).map((t) => t.label)).toEqual(['0.0s', '0.1s', '0.2s', '0.3s', '0.4s', '0.5s'])
    expect(timelineEnd(5, 5)).toBe(5 + MIN_SPAN_MS)
  })
  it('labels ticks inside a zoomed window relative to the run start', () => {
    const ticks = windowTicks(1_000_000, 1_000_000 + 12_500, 1_000_000 + 21_000, 5)
    expect(ticks.map((t) => t.label)).toEqual(['14s', '16s', '18s', '20s'])
  })
})

describe('pendingSegment', () => {
  const scale = (t: number) => t / 10
  it('draws the wait in the queue before the bar', () => {
    expect(pendingSegment({ queuedAt: 1000, start: 3000 }, scale)).toEqual({ x: 100, w: 200 })
  })
  it('draws nothing without a wait or narrower than a pixel', () => {
    expect(pendingSegment({ queuedAt: null, start: 3000 }, scale)).toBeNull()
    expect(pendingSegment({ queuedAt: 3000, start: 3000 }, scale)).toBeNull()
    expect(pendingSegment({ queuedAt: 2995, start: 3000 }, scale)).toBeNull()
  })
})
