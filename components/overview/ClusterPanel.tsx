'use client'
/** The cluster as each site sees it (Slurm, HTCondor, Dask), beside the pools our workflows ask for. */
import { formatMiB } from '~/server/format'
import type { ActiveRun, ClusterView, PoolFit } from './types'

function Fits({ fits, empty }: { fits: PoolFit[]; empty: string }) {
  if (fits.length === 0) return empty ? <p className="muted">{empty}</p> : null
  return (
    <ul className="ov-fits" data-testid="ov-fits">
      {fits.map((f) => (
        <li key={`${f.pool}-${f.sentence}`} className={`fit-${f.verdict}`} data-verdict={f.verdict}>
          <span className="ov-fit-mark" aria-hidden>
            {f.verdict === 'fits' ? '✓' : f.verdict === 'partly' ? '◐' : '✗'}
          </span>{' '}
          {f.sentence} <span className="muted">({f.workflows.join(', ')})</span>
        </li>
      ))}
    </ul>
  )
}

function Unavailable({ v }: { v: { message: string; hint: string } }) {
  return (
    <p className="muted" data-testid="ov-unavailable">
      {v.message}. <span>{v.hint.charAt(0).toUpperCase() + v.hint.slice(1)}.</span>
    </p>
  )
}

type DaskSite = ClusterView['dask'][number]

const gb = (bytes: number | null) => (bytes == null ? 'no limit' : formatMiB(Math.round(bytes / 1048576)))

/** an existing Dask cluster (a workflow's scheduler_address) as its scheduler sees it */
function DaskSitePanel({ site }: { site: DaskSite }) {
  return (
    <div data-testid="ov-dask-site" data-address={site.address}>
      <h4>
        Scheduler <span className="mono">{site.address}</span>
      </h4>
      {site.status === 'ok' ? (
        site.workers.length ? (
          <table className="ov-table">
            <caption className="visually-hidden">Workers of the Dask scheduler {site.address}</caption>
            <thead>
              <tr>
                <th scope="col">worker</th>
                <th scope="col">host</th>
                <th scope="col">CPUs</th>
                <th scope="col">memory</th>
                <th scope="col">GPUs</th>
                <th scope="col">serves pools</th>
              </tr>
            </thead>
            <tbody>
              {site.workers.map((w) => (
                <tr key={w.name} data-testid="ov-dask-site-worker" data-worker={w.name}>
                  <td className="mono">{w.name}</td>
                  <td>{w.host ?? '?'}</td>
                  <td>{w.cpus ?? '?'}</td>
                  <td>{gb(w.memoryBytes)}</td>
                  <td>{w.gpus}</td>
                  <td>{w.pools.join(', ') || <span className="muted">none</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">The scheduler has no workers now.</p>
        )
      ) : (
        <Unavailable v={site} />
      )}
      <Fits fits={site.fits} empty="" />
    </div>
  )
}

/** the Dask workers of the runs in progress, with the resources of their pool */
function DaskWorkers({ runs }: { runs: ActiveRun[] }) {
  const rows = runs.flatMap((r) =>
    r.daskWorkers.map((w) => ({ ...w, run: r, resources: r.pools.find((p) => p.pool === w.pool)?.resources })),
  )
  if (rows.length === 0) return <p className="muted">No Dask cluster is running for a run now.</p>
  return (
    <table className="ov-table" data-testid="ov-dask">
      <caption className="visually-hidden">Dask workers of the runs in progress</caption>
      <thead>
        <tr>
          <th scope="col">run</th>
          <th scope="col">pool</th>
          <th scope="col">host</th>
          <th scope="col">state</th>
          <th scope="col">resources</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((w) => (
          <tr key={w.id}>
            <td>{w.run.workflowName}</td>
            <td>{w.pool}</td>
            <td>{w.host ?? '?'}</td>
            <td>{w.busy ? 'busy' : w.state}</td>
            <td>
              {w.resources
                ? `${w.resources.cpus} CPU${w.resources.cpus === 1 ? '' : 's'}${w.resources.memoryBytes ? `, ${formatMiB(Math.round(w.resources.memoryBytes / 1048576))}` : ''}${w.resources.gpus ? `, ${w.resources.gpus} GPU` : ''}`
                : ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function ClusterPanel({ cluster, runs }: { cluster: ClusterView; runs: ActiveRun[] }) {
  const { slurm, htcondor } = cluster
  return (
    <div className="ov-cluster">
      <section aria-labelledby="ov-slurm" data-testid="ov-slurm">
        <h3 id="ov-slurm">Slurm</h3>
        {slurm.status === 'ok' ? (
          <>
            <table className="ov-table">
              <caption className="visually-hidden">Slurm partitions (sinfo)</caption>
              <thead>
                <tr>
                  <th scope="col">partition</th>
                  <th scope="col">state</th>
                  <th scope="col">nodes</th>
                  <th scope="col">idle</th>
                  <th scope="col">mixed</th>
                  <th scope="col">allocated</th>
                  <th scope="col">down / other</th>
                  <th scope="col">CPUs</th>
                  <th scope="col">memory</th>
                  <th scope="col">GPUs</th>
                </tr>
              </thead>
              <tbody>
                {slurm.partitions.map((p) => (
                  <tr key={p.name} data-testid="ov-partition" data-partition={p.name}>
                    <td>
                      {p.name}
                      {p.isDefault ? <span className="muted"> (default)</span> : null}
                    </td>
                    <td>{p.available}</td>
                    <td>{p.nodes}</td>
                    <td data-testid="ov-partition-idle">{p.idle}</td>
                    <td>{p.mixed}</td>
                    <td>{p.allocated}</td>
                    <td>{p.other}</td>
                    <td>{p.cpus}</td>
                    <td>{formatMiB(p.memoryMiB)}</td>
                    <td>{p.gpus}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h4>Pending jobs</h4>
            {slurm.pending.length ? (
              <table className="ov-table" data-testid="ov-pending">
                <caption className="visually-hidden">Pending Slurm jobs with their reasons</caption>
                <thead>
                  <tr>
                    <th scope="col">job</th>
                    <th scope="col">name</th>
                    <th scope="col">user</th>
                    <th scope="col">partition</th>
                    <th scope="col">why it waits</th>
                  </tr>
                </thead>
                <tbody>
                  {slurm.pending.map((j) => (
                    <tr key={j.jobId}>
                      <td className="mono">{j.jobId}</td>
                      <td>{j.name}</td>
                      <td>{j.user}</td>
                      <td>{j.partition}</td>
                      <td>{j.reasonText}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p className="muted">No job is pending.</p>
            )}
            <h4>Our pools on Slurm</h4>
            <Fits fits={slurm.fits} empty="No recent workflow sends pools to Slurm." />
          </>
        ) : (
          <Unavailable v={slurm} />
        )}
      </section>
      <section aria-labelledby="ov-htcondor" data-testid="ov-htcondor">
        <h3 id="ov-htcondor">HTCondor</h3>
        {htcondor.status === 'ok' ? (
          <>
            <p>
              {htcondor.slots.length} slots:{' '}
              {Object.entries(htcondor.byState)
                .map(([s, n]) => `${n} ${s}`)
                .join(', ')}{' '}
              · {htcondor.cpus} CPUs, {formatMiB(htcondor.memoryMiB)}, {htcondor.gpus} GPUs
            </p>
            <h4>Our pools on HTCondor</h4>
            <Fits fits={htcondor.fits} empty="No recent workflow sends pools to HTCondor." />
          </>
        ) : (
          <Unavailable v={htcondor} />
        )}
      </section>
      <section aria-labelledby="ov-dask-title">
        <h3 id="ov-dask-title">Dask</h3>
        {cluster.dask.map((site) => (
          <DaskSitePanel key={site.address} site={site} />
        ))}
        {cluster.dask.length ? <h4>Clusters our runs started</h4> : null}
        <DaskWorkers runs={runs} />
      </section>
      {cluster.host.fits.length ? (
        <section aria-labelledby="ov-local" data-testid="ov-host">
          <h3 id="ov-local">This machine</h3>
          <p className="muted">
            {cluster.host.cpus} CPUs, {formatMiB(cluster.host.memoryMiB)}, {cluster.host.gpus} GPUs: every local pool
            runs here.
          </p>
          <Fits fits={cluster.host.fits} empty="" />
        </section>
      ) : null}
    </div>
  )
}
