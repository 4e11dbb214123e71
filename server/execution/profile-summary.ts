/**
 * Per-pool summary of the `profile` modifier's results (issue 9): for each pool, the tasks profiled
 * and their CPU time, wall time and peak memory, from the metrics the runtime wrote to result.json
 * (server/execution/runtime/runner.mjs; python ops may override peakRssBytes via pyshim.py):
 *   wallMs, cpuUserMs, cpuSystemMs (the command's CPU, cutime + cstime), peakRssBytes (sampled).
 *
 * A task counts as profiled when its stage carries the `profile` modifier and it has metrics. Tasks
 * are streamed in pages with only the needed columns (JSON is stored as strings, so it is parsed
 * here; this works the same on SQLite and PostgreSQL), so a run of 10,000+ tasks stays cheap.
 */
import type { Db } from '../db/client.ts'
import type { ExecutionPlan } from '../workflow/types.ts'

export interface PoolProfileRow {
  pool: string
  /** tasks of the pool with the profile modifier and metrics */
  tasks: number
  totalCpuSeconds: number
  /** totalCpuSeconds / tasks */
  meanCpuSeconds: number
  totalWallSeconds: number
  /** the largest peakRssBytes of the pool's profiled tasks (null: none was sampled) */
  maxPeakRssBytes: number | null
}

const PAGE = 2000

function num(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN
  return Number.isFinite(n) ? n : null
}

function hasProfile(modifiers: string | null): boolean {
  if (!modifiers) return false
  try {
    const list = JSON.parse(modifiers) as unknown
    return Array.isArray(list) && list.some((m) => (m as { name?: unknown } | null)?.name === 'profile')
  } catch {
    return false
  }
}

/** profile totals per pool of a run, in the plan's pool order (then by name); [] when none was profiled */
export async function poolProfileSummary(db: Db, runId: string): Promise<PoolProfileRow[]> {
  const acc = new Map<string, { tasks: number; cpuMs: number; wallMs: number; peak: number | null }>()
  let cursor: string | null = null
  for (;;) {
    const page: { id: string; pool: string; modifiers: string | null; metrics: string | null }[] =
      await db.task.findMany({
        // the LIKE pre-filter narrows the rows; hasProfile decides exactly
        where: { runId, metrics: { not: null }, modifiers: { contains: 'profile' } },
        select: { id: true, pool: true, modifiers: true, metrics: true },
        orderBy: { id: 'asc' },
        take: PAGE,
        ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
      })
    for (const t of page) {
      if (!hasProfile(t.modifiers) || !t.metrics) continue
      let m: Record<string, unknown>
      try {
        m = JSON.parse(t.metrics) as Record<string, unknown>
      } catch {
        continue
      }
      if (!m || typeof m !== 'object') continue
      let a = acc.get(t.pool)
      if (!a) acc.set(t.pool, (a = { tasks: 0, cpuMs: 0, wallMs: 0, peak: null }))
      a.tasks++
      a.cpuMs += (num(m.cpuUserMs) ?? 0) + (num(m.cpuSystemMs) ?? 0)
      a.wallMs += num(m.wallMs) ?? 0
      const peak = num(m.peakRssBytes)
      if (peak != null) a.peak = Math.max(a.peak ?? 0, peak)
    }
    if (page.length < PAGE) break
    cursor = page[page.length - 1]!.id
  }
  if (!acc.size) return []

  const run = await db.run.findUnique({ where: { id: runId }, select: { plan: true } })
  let order = new Map<string, number>()
  try {
    const plan = run ? (JSON.parse(run.plan) as ExecutionPlan) : null
    order = new Map((plan?.pools ?? []).map((p, i) => [p.name, i]))
  } catch {
    /* no plan order: by name */
  }
  const rank = (p: string) => order.get(p) ?? Number.MAX_SAFE_INTEGER
  return [...acc.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([pool, a]) => ({
      pool,
      tasks: a.tasks,
      totalCpuSeconds: a.cpuMs / 1000,
      meanCpuSeconds: a.cpuMs / 1000 / a.tasks,
      totalWallSeconds: a.wallMs / 1000,
      maxPeakRssBytes: a.peak,
    }))
}
