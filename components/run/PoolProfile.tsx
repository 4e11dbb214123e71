'use client'
/**
 * Profile results per pool (the `profile` execution modifier, issue 9): tasks profiled, total and
 * mean CPU time, total wall time and the largest peak memory (run.poolProfile). Nothing is shown
 * for runs without profiled tasks.
 */
import { useEffect } from 'react'
import { useQuery } from '@tanstack/react-query'
import { formatMemory } from '~/components/composer/planGraph'
import { useTRPC } from '~/components/trpc/client'
import { formatDuration } from './aggregate'

export function PoolProfile({
  runId,
  active,
  colors,
}: {
  runId: string
  active: boolean
  colors: Record<string, string>
}) {
  const trpc = useTRPC()
  const q = useQuery({ ...trpc.run.poolProfile.queryOptions({ runId }), refetchInterval: active ? 3000 : false })
  // one more read when the run ends (the last tasks' metrics)
  const { refetch } = q
  useEffect(() => {
    if (!active) void refetch()
  }, [active, refetch])
  const rows = q.data ?? []
  if (!rows.length) return null
  return (
    <section className="run-panel pool-profile" data-testid="pool-profile">
      <div className="panel-head">
        <h2>Profile per pool</h2>
        {active ? <span className="muted">updating…</span> : null}
      </div>
      <table>
        <thead>
          <tr>
            <th>pool</th>
            <th title="tasks with the profile modifier that reported metrics">tasks profiled</th>
            <th>CPU total</th>
            <th>CPU mean / task</th>
            <th>wall total</th>
            <th>peak memory (max)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.pool} data-testid={`pool-profile-${r.pool}`} data-tasks={r.tasks}>
              <td>
                <span
                  style={{
                    display: 'inline-block',
                    width: 10,
                    height: 10,
                    borderRadius: 3,
                    background: colors[r.pool] ?? '#888',
                  }}
                />{' '}
                {r.pool}
              </td>
              <td>{r.tasks}</td>
              <td>{formatDuration(r.totalCpuSeconds * 1000)}</td>
              <td>{formatDuration(r.meanCpuSeconds * 1000)}</td>
              <td>{formatDuration(r.totalWallSeconds * 1000)}</td>
              <td>{formatMemory(r.maxPeakRssBytes) ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
