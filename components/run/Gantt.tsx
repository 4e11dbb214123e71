'use client'
/**
 * The timeline: one lane per worker, grouped by pool (packed lanes where a pool has thousands of
 * one-task workers), tasks as bars coloured by state. SVG; tiny bars are coalesced (gantt.ts), so a
 * 10,000-task run draws a bounded number of rectangles. Click a bar to open its task.
 */
import { memo, useEffect, useMemo, useRef, useState } from 'react'
import { formatDuration, STATE_COLORS } from './aggregate'
import { buildLanes, coalesceBars, timeTicks, type GanttTask, type GanttWorker } from './gantt'

const LABEL_W = 150
const LANE_H = 16
const POOL_H = 20
const AXIS_H = 18
const MAX_LANES_SHOWN = 400

export interface GanttProps {
  tasks: GanttTask[]
  workers: GanttWorker[]
  poolOrder: string[]
  colors: Record<string, string>
  t0: number | null
  t1: number
  now: number
  truncated: boolean
  /** tasks reused from an earlier run (not drawn: they did not run in this one) */
  reused?: number
  selectedTaskId: string | null
  onSelectTask: (id: string) => void
}

function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null)
  const [w, setW] = useState(900)
  useEffect(() => {
    const el = ref.current
    if (!el) return
    setW(el.clientWidth)
    const ro = new ResizeObserver((es) => setW(Math.floor(es[0].contentRect.width)))
    ro.observe(el)
    return () => ro.disconnect()
  }, [])
  return [ref, w]
}

export const Gantt = memo(function Gantt({
  tasks,
  workers,
  poolOrder,
  colors,
  t0: runStart,
  t1,
  now,
  truncated,
  reused = 0,
  selectedTaskId,
  onSelectTask,
}: GanttProps) {
  const [box, width] = useWidth<HTMLDivElement>()
  const plotW = Math.max(200, width - LABEL_W - 8)
  const t0 = useMemo(() => {
    let m = runStart ?? Infinity
    for (const t of tasks) if (t.start < m) m = t.start
    return Number.isFinite(m) ? m : now
  }, [tasks, runStart, now])
  const end = Math.max(t1, t0 + 1000)
  const scale = (t: number) => ((t - t0) / (end - t0)) * plotW

  const groups = useMemo(() => buildLanes(tasks, workers, { now, poolOrder }), [tasks, workers, now, poolOrder])
  const rows = useMemo(() => {
    const out: (
      | { kind: 'pool'; pool: string; text: string }
      | { kind: 'lane'; key: string; pool: string; label: string; title: string; bars: ReturnType<typeof coalesceBars> }
    )[] = []
    let lanes = 0
    const byId = new Map(workers.map((w) => [w.id, w]))
    for (const g of groups) {
      out.push({
        kind: 'pool',
        pool: g.pool,
        text: `${g.pool} · ${g.workers} worker${g.workers === 1 ? '' : 's'}${g.packed ? ' (tasks packed into lanes)' : ''}`,
      })
      for (const l of g.lanes) {
        if (lanes++ >= MAX_LANES_SHOWN) break
        const w = l.workerId ? byId.get(l.workerId) : undefined
        out.push({
          kind: 'lane',
          key: l.key,
          pool: l.pool,
          label: l.label,
          title: w
            ? `${l.label}: ${w.state}${w.host ? ` on ${w.host}` : ''}${w.batchJobId ? ` · batch id ${w.batchJobId}` : ''}`
            : l.label,
          bars: coalesceBars(l.tasks, (t) => ((t - t0) / (end - t0)) * plotW, now),
        })
      }
    }
    return out
  }, [groups, workers, t0, end, plotW, now])

  const ticks = useMemo(() => timeTicks(t0, end, Math.max(3, Math.floor(plotW / 90))), [t0, end, plotW])
  let y = AXIS_H
  const laid = rows.map((r) => {
    const top = y
    y += r.kind === 'pool' ? POOL_H : LANE_H
    return { r, top }
  })
  const height = y + 4
  const bars = rows.reduce((n, r) => n + (r.kind === 'lane' ? r.bars.length : 0), 0)

  return (
    <section className="run-panel gantt-panel" data-testid="gantt" data-tasks={tasks.length} data-bars={bars}>
      <div className="panel-head">
        <h2>Timeline</h2>
        <span className="muted">
          {tasks.length} task{tasks.length === 1 ? '' : 's'} started{truncated ? ' (first 10,000 shown)' : ''} ·{' '}
          <span data-testid="gantt-span">{formatDuration(end - t0)}</span>
          {reused ? ` · ${reused} reused from the earlier run (not drawn)` : ''}
        </span>
        <span className="gantt-legend">
          {['running', 'succeeded', 'failed', 'cancelled', 'lost', 'retrying'].map((s) => (
            <span key={s}>
              <i style={{ background: STATE_COLORS[s] }} /> {s}
            </span>
          ))}
        </span>
      </div>
      <div className="gantt-scroll" ref={box}>
        {tasks.length === 0 && workers.length === 0 ? (
          <div className="muted gantt-empty">No task has started yet.</div>
        ) : (
          // biome-ignore lint/a11y/useKeyWithClickEvents: pre-existing: review when this component is next changed
          <svg
            width={LABEL_W + plotW + 4}
            height={height}
            role="img"
            aria-label="timeline of tasks per worker"
            onClick={(e) => {
              const id = (e.target as Element).getAttribute?.('data-task')
              if (id) onSelectTask(id)
            }}
          >
            <g transform={`translate(${LABEL_W},0)`} className="gantt-axis">
              {ticks.map((t) => (
                <g key={t.t} transform={`translate(${scale(t.t)},0)`}>
                  <line y1={AXIS_H - 4} y2={height} />
                  <text y={AXIS_H - 6} x={2}>
                    {t.label}
                  </text>
                </g>
              ))}
              {t1 >= now - 1500 && now <= end ? (
                <line className="gantt-now" x1={scale(now)} x2={scale(now)} y1={AXIS_H - 4} y2={height} />
              ) : null}
            </g>
            {laid.map(({ r, top }) =>
              r.kind === 'pool' ? (
                <g key={`pool-${r.pool}`} transform={`translate(0,${top})`} className="gantt-pool">
                  <rect x={0} y={2} width={4} height={POOL_H - 4} fill={colors[r.pool] ?? '#888'} />
                  <text x={8} y={POOL_H - 6} fill={colors[r.pool] ?? undefined}>
                    {r.text}
                  </text>
                </g>
              ) : (
                <g key={r.key} transform={`translate(0,${top})`} className="gantt-lane" data-lane={r.key}>
                  <title>{r.title}</title>
                  <text x={12} y={LANE_H - 4}>
                    {r.label}
                  </text>
                  <g transform={`translate(${LABEL_W},0)`}>
                    <rect className="gantt-lane-bg" x={0} y={1} width={plotW} height={LANE_H - 2} />
                    {r.bars.map((b) => (
                      <rect
                        key={b.task.id}
                        x={b.x}
                        y={2}
                        width={b.w}
                        height={LANE_H - 4}
                        rx={2}
                        fill={STATE_COLORS[b.state] ?? '#888'}
                        className={b.task.id === selectedTaskId ? 'is-selected' : undefined}
                        data-task={b.task.id}
                        data-state={b.state}
                      >
                        <title>
                          {b.count > 1
                            ? `${b.count} tasks from ${b.task.stage}… (${b.state} shown)`
                            : `${b.task.stage} · ${b.state} · ${formatDuration((b.task.end ?? now) - b.task.start)}`}
                        </title>
                      </rect>
                    ))}
                  </g>
                </g>
              ),
            )}
          </svg>
        )}
      </div>
    </section>
  )
})
