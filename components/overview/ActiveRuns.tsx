'use client'
/** What runs now: per run its progress by stage, its pools' workers busy / idle / starting, and its queue depth. */
import Link from 'next/link'
import { percent } from './format'
import type { ActiveRun } from './types'

function Bar({
  done,
  failed,
  running,
  total,
  label,
}: {
  done: number
  failed: number
  running: number
  total: number
  label: string
}) {
  return (
    <span
      className="ov-bar"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
      aria-valuetext={`${done} of ${total} done${failed ? `, ${failed} failed` : ''}${running ? `, ${running} running` : ''}`}
    >
      <span className="ov-bar-done" style={{ width: `${percent(done, total)}%` }} />
      <span className="ov-bar-running" style={{ width: `${percent(running, total)}%` }} />
      <span className="ov-bar-failed" style={{ width: `${percent(failed, total)}%` }} />
    </span>
  )
}

export function ActiveRuns({ runs }: { runs: ActiveRun[] }) {
  if (runs.length === 0)
    return (
      <p className="muted" data-testid="ov-no-active">
        Nothing is running. Start a run from a workflow (<Link href="/workflows">Workflows</Link>) or the{' '}
        <Link href="/compose">composer</Link>.
      </p>
    )
  return (
    <ul className="ov-runs" data-testid="ov-active-runs">
      {runs.map((r) => (
        <li key={r.id} className="ov-run" data-testid="ov-active-run" data-run={r.id}>
          <div className="ov-run-head">
            <Link href={`/runs/${r.id}`} className="ov-run-name">
              {r.workflowName} <span className="muted">v{r.versionNumber}</span>
            </Link>
            <span className={`ov-state state-${r.state}`}>{r.state}</span>
            <span className="muted">
              {r.backend} / {r.strategy}
            </span>
            <span data-testid="ov-run-progress">
              {r.succeeded} / {r.total} tasks done
              {r.failed ? <span className="error"> · {r.failed} failed</span> : null}
            </span>
            <span data-testid="ov-queue-depth">queue: {r.queueDepth} waiting</span>
          </div>
          <table className="ov-table">
            <caption className="visually-hidden">Progress of {r.workflowName} by stage</caption>
            <thead>
              <tr>
                <th scope="col">stage</th>
                <th scope="col">pool</th>
                <th scope="col">progress</th>
                <th scope="col">done</th>
                <th scope="col">running</th>
                <th scope="col">waiting</th>
              </tr>
            </thead>
            <tbody>
              {r.stages.map((s) => (
                <tr key={s.id} data-testid="ov-stage" data-stage={s.id}>
                  <td className="mono">{s.id}</td>
                  <td>{s.pool}</td>
                  <td>
                    <Bar
                      done={s.succeeded}
                      failed={s.failed}
                      running={s.running}
                      total={s.total}
                      label={`stage ${s.id}`}
                    />
                  </td>
                  <td>
                    {s.succeeded}/{s.total}
                  </td>
                  <td>{s.running}</td>
                  <td>{s.waiting}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table className="ov-table ov-pools">
            <caption className="visually-hidden">Pools of {r.workflowName}</caption>
            <thead>
              <tr>
                <th scope="col">pool</th>
                <th scope="col">workers (planned)</th>
                <th scope="col">busy</th>
                <th scope="col">idle</th>
                <th scope="col">starting / in batch queue</th>
                <th scope="col">tasks queued</th>
              </tr>
            </thead>
            <tbody>
              {r.pools.map((p) => (
                <tr key={p.pool} data-testid="ov-pool" data-pool={p.pool}>
                  <td>{p.pool}</td>
                  <td>{p.planned}</td>
                  <td data-testid="ov-pool-busy">{p.busy}</td>
                  <td data-testid="ov-pool-idle">{p.idle}</td>
                  <td>{p.starting}</td>
                  <td>{p.queued}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {r.daskWorkers.length ? (
            <p className="muted" data-testid="ov-dask-workers">
              Dask workers:{' '}
              {r.daskWorkers.map((w) => `${w.pool}@${w.host ?? '?'} (${w.busy ? 'busy' : w.state})`).join(', ')}
            </p>
          ) : null}
        </li>
      ))}
    </ul>
  )
}
