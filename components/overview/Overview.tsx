'use client'
/**
 * The control room (home page): what runs now, what failed and where, the cluster as each site
 * sees it beside the pools our workflows ask for, and the credentials' time left. Live: the page
 * listens to `/api/events` (the run page's stream; its summary form: per batch only the runs it
 * touched, so the home page costs the server one shared encoding whatever the runs do) and
 * refetches the runs at most every RUNS_MS while events arrive, once when the stream (re)opens, and
 * every IDLE_MS without (a missed event cannot leave the page stale); the batch systems (cached 5 s
 * on the server) every CLUSTER_MS.
 */
import { useEffect, useRef } from 'react'
import { useQuery } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import { useEventStream } from '~/components/run/useEventStream'
import { ActiveRuns } from './ActiveRuns'
import { ClusterPanel } from './ClusterPanel'
import { Failures } from './Failures'
import { formatTimeLeft } from './format'
import './overview.css'

const RUNS_MS = 1000
const IDLE_MS = 10_000
const CLUSTER_MS = 10_000

export function Overview() {
  const trpc = useTRPC()
  const runs = useQuery({ ...trpc.overview.runs.queryOptions({ failures: 8 }), refetchInterval: IDLE_MS })
  const refetch = useRef(runs.refetch)
  refetch.current = runs.refetch
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null)
  useEffect(
    () => () => {
      if (pending.current) clearTimeout(pending.current)
    },
    [],
  )
  // a burst of events is one refetch
  const soon = () => {
    pending.current ??= setTimeout(() => {
      pending.current = null
      void refetch.current()
    }, RUNS_MS)
  }
  const stream = useEventStream({ runId: null, after: null, summary: true, onOpen: soon, onMessage: soon })
  const cluster = useQuery({ ...trpc.overview.cluster.queryOptions(), refetchInterval: CLUSTER_MS })
  return (
    <div className="overview" data-testid="overview">
      <section className="ov-section" aria-labelledby="ov-running">
        <h2 id="ov-running">
          Running now{' '}
          <span className="muted ov-checked" data-testid="ov-live" data-status={stream.status}>
            {stream.status === 'live' ? 'live' : stream.status === 'error' ? 'reconnecting…' : 'connecting…'}
          </span>
        </h2>
        {runs.data ? (
          <ActiveRuns runs={runs.data.active} />
        ) : runs.error ? (
          <p className="error" role="alert">
            {runs.error.message}
          </p>
        ) : (
          <p className="muted">Loading…</p>
        )}
      </section>
      <section className="ov-section" aria-labelledby="ov-failed">
        <h2 id="ov-failed">Recent failures</h2>
        {runs.data ? <Failures failures={runs.data.failures} /> : null}
      </section>
      <section className="ov-section" aria-labelledby="ov-cluster-title">
        <h2 id="ov-cluster-title">
          Cluster{' '}
          {cluster.data ? (
            <span className="muted ov-checked">checked {new Date(cluster.data.checkedAt).toLocaleTimeString()}</span>
          ) : null}
        </h2>
        {cluster.data ? (
          <ClusterPanel cluster={cluster.data} runs={runs.data?.active ?? []} />
        ) : cluster.error ? (
          <p className="error" role="alert">
            {cluster.error.message}
          </p>
        ) : (
          <p className="muted">Asking the batch systems…</p>
        )}
      </section>
      <section className="ov-section" aria-labelledby="ov-creds">
        <h2 id="ov-creds">Credentials</h2>
        {runs.data ? (
          runs.data.credentials.some((c) => c.found) ? (
            <ul className="ov-creds" data-testid="ov-credentials">
              {runs.data.credentials
                .filter((c) => c.found)
                .map((c) => (
                  <li key={c.kind}>
                    <strong>{c.kind === 'x509' ? 'X509 proxy' : 'bearer token'}</strong> {c.identity ?? ''}{' '}
                    <span className={c.expired ? 'error' : ''}>{formatTimeLeft(c.secondsLeft, c.expired)}</span>{' '}
                    <span className="muted">({c.source})</span>
                  </li>
                ))}
            </ul>
          ) : (
            <p className="muted" data-testid="ov-credentials">
              No X509 proxy or bearer token found (X509_USER_PROXY, /tmp/x509up_u$UID, BEARER_TOKEN_FILE, …): runs that
              need one are refused at dispatch.
            </p>
          )
        ) : null}
      </section>
    </div>
  )
}
