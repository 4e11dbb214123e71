'use client'
/**
 * Pools and their workers: local processes, Slurm / HTCondor jobs or Dask workers, each with its
 * state, batch system id, host, the task it runs now, utilisation (busy time over its lifetime) and
 * the batch system's reason (e.g. a Slurm pending reason, an HTCondor hold reason).
 */
import { memo, useMemo, useState } from 'react'
import { formatMemory } from '~/components/composer/planGraph'
import { formatDuration, shortId, STATE_COLORS } from './aggregate'
import { utilisation, type GanttTask } from './gantt'
import type { LiveWorker } from './liveState'
import type { RunDetail } from './types'

const WORKER_STATE_COLORS: Record<string, string> = {
  requested: '#8f9cff',
  'pending-in-queue': '#f2c14e',
  running: STATE_COLORS.running,
  gone: '#59606e',
}
const WORKER_ORDER: Record<string, number> = { running: 0, 'pending-in-queue': 1, requested: 2, gone: 3 }
const SHOW = 60

export interface WorkersPanelProps {
  pools: RunDetail['pools']
  workers: LiveWorker[]
  tasks: GanttTask[]
  colors: Record<string, string>
  now: number
  taskStage: (taskId: string) => string | null
  onSelectTask: (taskId: string) => void
}

export const WorkersPanel = memo(function WorkersPanel({
  pools,
  workers,
  tasks,
  colors,
  now,
  taskStage,
  onSelectTask,
}: WorkersPanelProps) {
  const [expanded, setExpanded] = useState<Record<string, boolean>>({})
  const byWorker = useMemo(() => {
    const m = new Map<string, GanttTask[]>()
    for (const t of tasks) {
      if (!t.workerId) continue
      let l = m.get(t.workerId)
      if (!l) m.set(t.workerId, (l = []))
      l.push(t)
    }
    return m
  }, [tasks])
  const poolNames = useMemo(() => {
    const names = pools.map((p) => p.name)
    for (const w of workers) if (!names.includes(w.pool)) names.push(w.pool)
    return names
  }, [pools, workers])

  return (
    <section className="run-panel workers-panel" data-testid="workers-panel">
      <div className="panel-head">
        <h2>Pools and workers</h2>
        <span className="muted">{workers.filter((w) => w.state !== 'gone').length} active</span>
      </div>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take keyboard focus to be scrolled without a mouse (WCAG 2.1.1) */}
      <section className="wp-scroll" tabIndex={0} aria-label="Workers by pool">
        {poolNames.map((name) => {
          const pool = pools.find((p) => p.name === name)
          const ws = workers
            .filter((w) => w.pool === name)
            .sort(
              (a, b) =>
                (WORKER_ORDER[a.state] ?? 9) - (WORKER_ORDER[b.state] ?? 9) || (a.startedAt ?? 0) - (b.startedAt ?? 0),
            )
          const byState: Record<string, number> = {}
          for (const w of ws) byState[w.state] = (byState[w.state] ?? 0) + 1
          const shown = expanded[name] ? ws : ws.slice(0, SHOW)
          const r = pool?.resources
          return (
            <div key={name} className="wp-pool" data-testid={`pool-${name}`} data-pool={name}>
              <div className="wp-pool-head">
                <span className="swatch" style={{ background: colors[name] ?? '#888' }} />
                <strong style={{ color: colors[name] }}>{name}</strong>
                {pool ? (
                  <span className="muted">
                    {pool.workers}× {r?.cpus ?? 1} cpu{r?.memoryBytes ? ` · ${formatMemory(r.memoryBytes)}` : ''}
                    {r?.gpus ? ` · ${r.gpus} gpu` : ''} · {pool.stages.length} stage
                    {pool.stages.length === 1 ? '' : 's'}
                  </span>
                ) : null}
                <span className="wp-states">
                  {Object.entries(byState).map(([s, n]) => (
                    <span
                      key={s}
                      className="wp-state"
                      style={{ ['--state' as string]: WORKER_STATE_COLORS[s] ?? '#888' }}
                    >
                      {n} {s}
                    </span>
                  ))}
                </span>
              </div>
              {ws.length === 0 ? (
                <div className="muted wp-none">no worker yet</div>
              ) : (
                <table className="wp-table">
                  <thead>
                    <tr>
                      <th>worker</th>
                      <th>state</th>
                      <th>batch id</th>
                      <th>host</th>
                      <th>current task</th>
                      <th title="busy time over the worker's lifetime">util.</th>
                      <th>up</th>
                      <th>reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((w) => {
                      const own = byWorker.get(w.id) ?? []
                      const from = w.startedAt ?? (own.length ? Math.min(...own.map((t) => t.start)) : null)
                      const to = w.endedAt ?? now
                      const u = from != null ? utilisation(own, from, to, now) : 0
                      return (
                        <tr key={w.id} data-testid={`worker-${w.id}`} data-state={w.state}>
                          <td className="mono" title={`${w.id}${w.kind ? ` (${w.kind})` : ''}`}>
                            {shortId(w.id, 6)}
                            {w.kind && w.kind !== 'process' ? <span className="muted"> {w.kind}</span> : null}
                          </td>
                          <td>
                            <span
                              className="wp-state"
                              style={{ ['--state' as string]: WORKER_STATE_COLORS[w.state] ?? '#888' }}
                            >
                              {w.state}
                            </span>
                          </td>
                          <td className="mono">{w.batchJobId ?? '–'}</td>
                          <td>
                            {w.host ?? '–'}
                            {w.pid ? <span className="muted"> pid {w.pid}</span> : null}
                          </td>
                          <td>
                            {w.currentTaskId && w.state !== 'gone' ? (
                              <button
                                type="button"
                                className="linklike"
                                onClick={() => onSelectTask(w.currentTaskId!)}
                                data-testid={`worker-task-${w.id}`}
                              >
                                {taskStage(w.currentTaskId) ?? shortId(w.currentTaskId, 6)}
                              </button>
                            ) : (
                              <span className="muted">idle</span>
                            )}
                          </td>
                          <td>
                            <span
                              className="wp-util"
                              title={`${Math.round(u * 100)}% busy, ${own.length} task${own.length === 1 ? '' : 's'}`}
                            >
                              <span style={{ width: `${Math.round(u * 100)}%` }} />
                            </span>
                            <span className="muted"> {Math.round(u * 100)}%</span>
                          </td>
                          <td>{from != null ? formatDuration(to - from) : '–'}</td>
                          <td className="wp-reason" title={w.reason ?? undefined}>
                            {w.reason ?? ''}
                          </td>
                        </tr>
                      )
                    })}
                  </tbody>
                </table>
              )}
              {ws.length > SHOW ? (
                <button
                  type="button"
                  className="linklike"
                  onClick={() => setExpanded((e) => ({ ...e, [name]: !e[name] }))}
                >
                  {expanded[name] ? 'show fewer' : `show all ${ws.length} workers`}
                </button>
              ) : null}
            </div>
          )
        })}
      </section>
    </section>
  )
})
