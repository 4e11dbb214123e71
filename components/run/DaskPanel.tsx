'use client'
/**
 * Dask runs: the scheduler (address, dashboard link when there is one, health) and the Dask
 * workers per pool with their batch job ids, from <runDir>/dask/session.json (`run.backendInfo`).
 * The session file is the bridge's last report: once the run has finished, a session we started
 * has been shut down with it, so its workers are shown `gone` (as the workers panel shows them),
 * with the last reported state in the tooltip.
 */
import { useQuery } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'

interface WorkerLike {
  id?: string
  name?: string
  state?: string
  detail?: string
  batch?: string
  jobId?: string | null
  host?: string | null
  connected?: boolean
  reason?: string | null
}

/** the state to show for a worker of the session file: `gone` once the run (and our session) ended */
export function daskWorkerState(w: WorkerLike, runFinished: boolean, external: boolean): string {
  const reported = w.detail ?? w.state ?? '?'
  return runFinished && !external ? 'gone' : reported
}

export function DaskPanel({ runId, active }: { runId: string; active: boolean }) {
  const trpc = useTRPC()
  const q = useQuery({ ...trpc.run.backendInfo.queryOptions({ runId }), refetchInterval: active ? 3000 : false })
  const d = q.data
  if (d?.backend !== 'dask') return null
  const s = d.dask
  return (
    <section className="dask-panel" data-testid="dask-panel">
      <h3>
        Dask <span className="muted small">({d.strategy} workers)</span>
      </h3>
      {!s ? (
        <p className="muted small">{d.note ?? 'no Dask session yet'}</p>
      ) : (
        <>
          <div className="dask-facts small">
            scheduler <code data-testid="dask-scheduler">{s.scheduler.address ?? '–'}</code>
            {s.external ? <span className="muted"> (existing cluster)</span> : null}
            {s.scheduler.dashboard ? (
              <>
                {' '}
                ·{' '}
                <a href={s.scheduler.dashboard} target="_blank" rel="noreferrer noopener" data-testid="dask-dashboard">
                  dashboard
                </a>
              </>
            ) : null}
            {s.scheduler.health ? <span className="muted"> · health {s.scheduler.health}</span> : null}
            {s.python ? <span className="muted"> · python {s.python}</span> : null}
          </div>
          <table className="dask-workers small">
            <thead>
              <tr>
                <th>pool</th>
                <th>worker</th>
                <th>state</th>
                <th>batch job</th>
                <th>host</th>
                <th>reason</th>
              </tr>
            </thead>
            <tbody>
              {s.pools.map((p) =>
                (p.workers as WorkerLike[]).length === 0 ? (
                  <tr key={p.name} data-testid={`dask-pool-${p.name}`}>
                    <td>{p.name}</td>
                    <td colSpan={5} className={p.exhausted ? 'error' : 'muted'}>
                      {p.exhausted ? `can never get a worker: ${p.reason ?? ''}` : `no worker yet (target ${p.target})`}
                    </td>
                  </tr>
                ) : (
                  (p.workers as WorkerLike[]).map((w, i) => (
                    <tr key={`${p.name}-${w.id ?? w.name ?? i}`} data-testid={`dask-worker-${w.name ?? i}`}>
                      <td>{i === 0 ? p.name : ''}</td>
                      <td className="mono">{w.name ?? w.id ?? '?'}</td>
                      <td
                        data-testid={`dask-worker-state-${w.name ?? i}`}
                        title={`last reported by the bridge: ${w.detail ?? w.state ?? '?'}`}
                      >
                        {daskWorkerState(w, !active, !!s.external)}
                      </td>
                      <td className="mono">{w.jobId ?? '–'}</td>
                      <td>{w.host ?? '–'}</td>
                      <td className="muted">{w.reason ?? ''}</td>
                    </tr>
                  ))
                ),
              )}
            </tbody>
          </table>
          {s.updatedAt ? (
            <div className="muted small">
              {active
                ? `as of ${new Date(s.updatedAt).toLocaleTimeString()}`
                : s.external
                  ? `as of ${new Date(s.updatedAt).toLocaleTimeString()} (the cluster outlives the run)`
                  : `the session ended with the run; last report ${new Date(s.updatedAt).toLocaleTimeString()}`}
            </div>
          ) : null}
        </>
      )}
    </section>
  )
}
