/**
 * Pure: the timeline (Gantt) model. One lane per worker, grouped by pool; where a pool has too many
 * workers to show one lane each (batch jobs: one worker per task, thousands of them), its tasks
 * are packed into as few lanes as possible (first fit by start time: no two bars of a lane overlap).
 * Bars narrower than a few pixels are coalesced so a 10,000-task run draws at most ~width/minPx
 * rectangles per lane.
 */
import type { TaskState } from '~/server/execution/vocabulary'

/** the states of tasks that have (or had) a bar: they started. The timeline reads and shows these. */
export const TIMELINE_STATES = [
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'lost',
  'retrying',
] as const satisfies readonly TaskState[]

export interface GanttTask {
  id: string
  stage: string
  pool: string
  state: string
  workerId: string | null
  /** ms since epoch */
  start: number
  /** null while running */
  end: number | null
  /** when the attempt was handed to the batch system (its wait in the queue is drawn before the bar) */
  queuedAt?: number | null
}

export interface GanttWorker {
  id: string
  pool: string
  state: string
  batchJobId: string | null
  host: string | null
  startedAt: number | null
  endedAt: number | null
}

export interface GanttLane {
  key: string
  pool: string
  label: string
  /** the worker of the lane (null: a packed lane) */
  workerId: string | null
  packed: boolean
  tasks: GanttTask[]
}

export interface GanttPoolGroup {
  pool: string
  lanes: GanttLane[]
  /** true when the pool's tasks were packed instead of one lane per worker */
  packed: boolean
  workers: number
}

export interface BuildLanesOptions {
  now: number
  /** above this many workers in a pool, pack its tasks instead (default 64) */
  maxWorkerLanes?: number
  /** pools in display order (plan order); others follow by name */
  poolOrder?: readonly string[]
}

const endOf = (t: { end: number | null }, now: number) => (t.end == null ? now : Math.max(t.end, 0))

/**
 * First-fit interval packing: items sorted by start go into the first lane whose last item ended at
 * or before their start. Optimal (lanes = maximum overlap) for interval graphs.
 */
export function packIntervals<T extends { start: number; end: number | null }>(
  items: readonly T[],
  now: number,
): T[][] {
  const sorted = [...items].sort((a, b) => a.start - b.start || endOf(a, now) - endOf(b, now))
  const lanes: T[][] = []
  const ends: number[] = []
  for (const it of sorted) {
    let placed = false
    for (let i = 0; i < lanes.length; i++) {
      const lane = lanes[i]
      if (lane && (ends[i] ?? 0) <= it.start) {
        lane.push(it)
        ends[i] = Math.max(endOf(it, now), it.start)
        placed = true
        break
      }
    }
    if (!placed) {
      lanes.push([it])
      ends.push(Math.max(endOf(it, now), it.start))
    }
  }
  return lanes
}

function byStart(a: GanttTask, b: GanttTask) {
  return a.start - b.start || a.id.localeCompare(b.id)
}

export function buildLanes(
  tasks: readonly GanttTask[],
  workers: readonly GanttWorker[],
  opts: BuildLanesOptions,
): GanttPoolGroup[] {
  const max = opts.maxWorkerLanes ?? 64
  const pools = new Map<string, { tasks: GanttTask[]; workers: Map<string, GanttWorker | null> }>()
  const pool = (name: string) => {
    let p = pools.get(name)
    if (!p) pools.set(name, (p = { tasks: [], workers: new Map() }))
    return p
  }
  for (const w of workers) pool(w.pool).workers.set(w.id, w)
  for (const t of tasks) {
    const p = pool(t.pool)
    p.tasks.push(t)
    if (t.workerId && !p.workers.has(t.workerId)) p.workers.set(t.workerId, null)
  }
  const order = opts.poolOrder ?? []
  const names = [...pools.keys()].sort((a, b) => {
    const ia = order.indexOf(a)
    const ib = order.indexOf(b)
    if (ia >= 0 && ib >= 0) return ia - ib
    if (ia >= 0) return -1
    if (ib >= 0) return 1
    return a.localeCompare(b)
  })
  const groups: GanttPoolGroup[] = []
  for (const name of names) {
    const p = pools.get(name)!
    const perWorker = new Map<string, GanttTask[]>()
    const unassigned: GanttTask[] = []
    for (const t of p.tasks) {
      if (t.workerId) {
        let l = perWorker.get(t.workerId)
        if (!l) perWorker.set(t.workerId, (l = []))
        l.push(t)
      } else unassigned.push(t)
    }
    if (p.workers.size > max) {
      const lanes = packIntervals(p.tasks, opts.now).map((ts, i) => ({
        key: `${name}#${i}`,
        pool: name,
        label: `lane ${i + 1}`,
        workerId: null,
        packed: true,
        tasks: ts.sort(byStart),
      }))
      groups.push({ pool: name, lanes, packed: true, workers: p.workers.size })
      continue
    }
    const firstStart = (id: string) => {
      const l = perWorker.get(id)
      const w = p.workers.get(id)
      let s = w?.startedAt ?? Infinity
      if (l) for (const t of l) s = Math.min(s, t.start)
      return s
    }
    const ids = [...p.workers.keys()].sort((a, b) => firstStart(a) - firstStart(b) || a.localeCompare(b))
    const lanes: GanttLane[] = ids.map((id, i) => {
      const w = p.workers.get(id)
      const label = w?.batchJobId && !/^\d+:\d+$/.test(w.batchJobId) ? `job ${w.batchJobId}` : `worker ${i + 1}`
      return { key: id, pool: name, label, workerId: id, packed: false, tasks: (perWorker.get(id) ?? []).sort(byStart) }
    })
    packIntervals(unassigned, opts.now).forEach((ts, i) =>
      lanes.push({
        key: `${name}#u${i}`,
        pool: name,
        label: 'unassigned',
        workerId: null,
        packed: true,
        tasks: ts.sort(byStart),
      }),
    )
    groups.push({ pool: name, lanes, packed: false, workers: p.workers.size })
  }
  return groups
}

// ------------------------------------------------------------------ drawing

export interface GanttBar {
  x: number
  w: number
  state: string
  /** tasks drawn by this rectangle */
  count: number
  /** the first task (tooltip, click) */
  task: GanttTask
}

/** when bars of different states share a pixel cell, the most notable state is drawn */
const PRIORITY: Record<string, number> = {
  failed: 7,
  lost: 6,
  running: 5,
  retrying: 4,
  queued: 3,
  cancelled: 2,
  succeeded: 1,
  pending: 0,
}
const prio = (s: string) => PRIORITY[s] ?? 0

/**
 * Lane tasks (sorted by start) → rectangles. A bar that starts inside the minimum-width cell of the
 * previous rectangle, or touches a previous rectangle of the same state, joins it.
 */
export function coalesceBars(
  tasks: readonly GanttTask[],
  scale: (t: number) => number,
  now: number,
  minPx = 2,
): GanttBar[] {
  const out: GanttBar[] = []
  let cur: GanttBar | null = null
  for (const t of tasks) {
    const x0 = scale(t.start)
    const x1 = Math.max(scale(endOf(t, now)), x0)
    if (cur) {
      const curEnd = cur.x + cur.w
      const sameCell = x0 < cur.x + minPx
      const touching = x0 - curEnd < 1 && t.state === cur.state
      if (sameCell || touching) {
        const end = Math.max(curEnd, x1)
        cur.w = Math.max(end - cur.x, minPx)
        cur.count++
        if (prio(t.state) > prio(cur.state)) cur.state = t.state
        continue
      }
    }
    cur = { x: x0, w: Math.max(x1 - x0, minPx), state: t.state, count: 1, task: t }
    out.push(cur)
  }
  return out
}

/** the wait in the queue before a task's bar (queued -> started), in pixels; null when there is none to draw */
export function pendingSegment(
  t: Pick<GanttTask, 'queuedAt' | 'start'>,
  scale: (t: number) => number,
  minPx = 1,
): { x: number; w: number } | null {
  if (t.queuedAt == null || t.queuedAt >= t.start) return null
  const x = scale(t.queuedAt)
  const w = scale(t.start) - x
  return w >= minPx ? { x, w } : null
}

/** busy fraction of [from, to] covered by the union of the tasks' intervals */
export function utilisation(
  tasks: readonly { start: number; end: number | null }[],
  from: number,
  to: number,
  now: number = to,
): number {
  if (!(to > from)) return 0
  const iv = tasks
    .map((t) => [Math.max(t.start, from), Math.min(endOf(t, now), to)] as const)
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0])
  let busy = 0
  let s = -Infinity
  let e = -Infinity
  for (const [a, b] of iv) {
    if (a > e) {
      if (e > s) busy += e - s
      s = a
      e = b
    } else e = Math.max(e, b)
  }
  if (e > s) busy += e - s
  return Math.min(1, busy / (to - from))
}

const STEPS = [
  1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
  900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
]
/** a tick a day: the coarsest step, for spans longer than `count` days */
const LONGEST_STEP = 86_400_000

/** the smallest round step that gives at most `count` ticks over `span` ms */
const roundStep = (span: number, count: number) => STEPS.find((s) => span / s <= count) ?? LONGEST_STEP

/** axis ticks relative to t0, about `count` of them, at round steps */
export function timeTicks(t0: number, t1: number, count = 8): { t: number; label: string }[] {
  const span = Math.max(t1 - t0, 1)
  const step = roundStep(span, count)
  const out: { t: number; label: string }[] = []
  for (let t = 0; t <= span + 1e-9; t += step) out.push({ t: t0 + t, label: tickLabel(t, step) })
  return out
}

/** ticks inside the window [v0, v1] at round steps, labelled relative to `origin` (the run's start) */
export function windowTicks(origin: number, v0: number, v1: number, count = 8): { t: number; label: string }[] {
  const span = Math.max(v1 - v0, 1)
  const step = roundStep(span, count)
  const out: { t: number; label: string }[] = []
  for (let k = Math.ceil((v0 - origin) / step); origin + k * step <= v1 + 1e-9; k++)
    out.push({ t: origin + k * step, label: tickLabel(k * step, step) })
  return out
}

export interface TimeWindow {
  from: number
  to: number
}

/** the smallest window the timeline zooms to */
export const MIN_WINDOW_MS = 20

/**
 * The span the timeline draws for a run from t0 to t1: the run itself (a 42 ms run is drawn over
 * 42 ms, as its header says, not squeezed into the start of a longer axis), at least MIN_SPAN_MS.
 */
export const MIN_SPAN_MS = 10
export function timelineEnd(t0: number, t1: number): number {
  return Math.max(t1, t0 + MIN_SPAN_MS)
}

/** zooms `w` by `factor` (< 1 zooms in) around `center`, kept inside `bounds` */
export function zoomWindow(w: TimeWindow, factor: number, center: number, bounds: TimeWindow): TimeWindow {
  const full = bounds.to - bounds.from
  const span = Math.min(full, Math.max(MIN_WINDOW_MS, (w.to - w.from) * factor))
  const rel = w.to > w.from ? (center - w.from) / (w.to - w.from) : 0.5
  return clampWindow({ from: center - rel * span, to: center - rel * span + span }, bounds)
}

/** moves `w` by `dt` ms, kept inside `bounds` */
export function panWindow(w: TimeWindow, dt: number, bounds: TimeWindow): TimeWindow {
  return clampWindow({ from: w.from + dt, to: w.to + dt }, bounds)
}

function clampWindow(w: TimeWindow, b: TimeWindow): TimeWindow {
  const span = Math.min(w.to - w.from, b.to - b.from)
  let from = Math.max(b.from, Math.min(w.from, b.to - span))
  if (!Number.isFinite(from)) from = b.from
  return { from, to: from + span }
}

function tickLabel(ms: number, step: number): string {
  if (step < 100) return `${Math.round(ms)}ms`
  if (step < 1000) return `${(ms / 1000).toFixed(step % 100 === 0 ? 1 : 2)}s`
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000)
    const s = Math.round((ms - m * 60_000) / 1000)
    return s ? `${m}m${String(s).padStart(2, '0')}` : `${m}m`
  }
  const h = Math.floor(ms / 3_600_000)
  const m = Math.round((ms - h * 3_600_000) / 60_000)
  return m ? `${h}h${String(m).padStart(2, '0')}` : `${h}h`
}

// ------------------------------------------------------------------ data

export interface TimelinePatch {
  id: string
  stage: string | null
  pool: string | null
  state: string | null
  workerId: string | null
  startedAt: number | null
  finishedAt: number | null
}

const FINAL: ReadonlySet<string> = new Set<TaskState>(['succeeded', 'failed', 'cancelled', 'lost'])

/**
 * Fetched task rows (those that started) + the streamed patches → the timeline's tasks. A patch with
 * a start replaces the row's bar (it is newer); a patch without one (queued again for a retry) keeps
 * the previous bar as it was. Tasks that never started have no bar.
 */
export function mergeTimeline(fetched: readonly GanttTask[], patches: Iterable<TimelinePatch>): GanttTask[] {
  const byId = new Map<string, GanttTask>()
  for (const t of fetched) byId.set(t.id, t)
  for (const p of patches) {
    const prev = byId.get(p.id)
    if (p.startedAt == null || !p.state) continue
    const stage = p.stage ?? prev?.stage
    const pool = p.pool ?? prev?.pool
    if (!stage || !pool) continue
    byId.set(p.id, {
      id: p.id,
      stage,
      pool,
      state: p.state,
      workerId: p.workerId ?? prev?.workerId ?? null,
      start: p.startedAt,
      end: FINAL.has(p.state)
        ? (p.finishedAt ?? prev?.end ?? p.startedAt)
        : p.state === 'running'
          ? null
          : (prev?.end ?? p.finishedAt),
    })
  }
  return [...byId.values()]
}
