'use client'
/**
 * HEP results of a run: per stage and dataset, partitions done / total and events processed
 * (run.hepProgress); then per dataset the plots (SVG via <img> of the artifact route: scripts in an
 * SVG never run in an <img>) and the cutflow tables (cells are escaped by the server renderer and
 * rendered as text here), each downloadable. Nothing is shown for runs without hep.* stages.
 */
import { useEffect } from 'react'
import { useQuery } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'

interface CutflowTableData {
  columns: string[]
  rows: { depth: number; kind: string; cells: string[] }[]
}

/** the server escapes cells for HTML; here they are text, so undo the entities */
function unescapeHtml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

export function HepPanel({ runId, active }: { runId: string; active: boolean }) {
  const trpc = useTRPC()
  const progress = useQuery({ ...trpc.run.hepProgress.queryOptions({ runId }), refetchInterval: active ? 2000 : false })
  const artifacts = useQuery({ ...trpc.run.artifacts.queryOptions({ runId }), refetchInterval: active ? 3000 : false })
  // one more read when the run ends (the last tasks, the final merges)
  // biome-ignore lint/correctness/useExhaustiveDependencies: pre-existing: review when this component is next changed
  useEffect(() => {
    if (active) return
    void progress.refetch()
    void artifacts.refetch()
  }, [active])
  const rows = progress.data ?? []
  const arts = artifacts.data ?? []
  if (!rows.length && !arts.length) return null

  const datasets = [
    ...new Set([...rows.map((r) => r.dataset), ...arts.map((a) => String(a.meta.dataset ?? ''))]),
  ].filter(Boolean)
  const url = (id: string, download = false) =>
    `/runs/${encodeURIComponent(runId)}/artifacts/${encodeURIComponent(id)}${download ? '?download=1' : ''}`

  return (
    <section className="run-panel hep-panel" data-testid="hep-panel">
      <div className="panel-head">
        <h2>HEP results</h2>
        {active ? <span className="muted">updating…</span> : null}
      </div>
      <table className="hep-progress" data-testid="hep-progress">
        <thead>
          <tr>
            <th>stage</th>
            <th>op</th>
            <th>dataset</th>
            <th>partitions</th>
            <th>events processed</th>
            <th>selected</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr
              key={`${r.stage}/${r.dataset}`}
              data-testid={`hep-progress-${r.stage}-${r.dataset}`}
              data-done={r.done}
              data-total={r.total}
            >
              <td>{r.stage}</td>
              <td className="mono">{r.op}</td>
              <td>{r.dataset}</td>
              <td>
                {r.done}/{r.total}
                {r.running ? <span className="muted"> ({r.running} running)</span> : null}
                {r.failed ? <span className="error"> ({r.failed} failed)</span> : null}
                <span className="rh-bar small">
                  <span
                    style={{
                      width: `${r.total ? (100 * r.done) / r.total : 0}%`,
                      background: r.failed ? 'var(--error)' : 'var(--ok)',
                    }}
                  />
                </span>
              </td>
              <td>{r.events.toLocaleString()}</td>
              <td>{r.op === 'hep.define' ? '–' : r.selected.toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {datasets.map((ds) => {
        const plots = arts.filter((a) => a.meta.dataset === ds && a.kind === 'plot')
        const cutflows = arts.filter((a) => a.meta.dataset === ds && a.kind === 'cutflow')
        if (!plots.length && !cutflows.length) return null
        return (
          <div key={ds} className="hep-dataset" data-testid={`hep-dataset-${ds}`}>
            <h3>
              dataset <span className="mono">{ds}</span>
            </h3>
            <div className="hep-plots">
              {plots.map((p) => {
                const json = arts.find(
                  (a) =>
                    a.meta.dataset === ds &&
                    a.kind === 'histogram' &&
                    a.meta.histogram === p.meta.histogram &&
                    a.meta.stage === p.meta.stage,
                )
                return (
                  <figure key={p.id} className="hep-plot" data-testid={`hep-plot-${String(p.meta.histogram)}`}>
                    {/** biome-ignore lint/performance/noImgElement: pre-existing: review when this component is next changed */}
                    <img
                      src={url(p.id)}
                      alt={`${String(p.meta.title ?? p.meta.histogram)} (${ds})`}
                      width={480}
                      height={320}
                    />
                    <figcaption>
                      <span>
                        {String(p.meta.histogram)} · {String(p.meta.entries ?? '')} entries ·{' '}
                        {String(p.meta.partitions ?? '')} partitions
                      </span>
                      <a href={url(p.id, true)} download>
                        SVG
                      </a>
                      {json ? (
                        <a href={url(json.id, true)} download>
                          JSON
                        </a>
                      ) : null}
                    </figcaption>
                  </figure>
                )
              })}
            </div>
            {cutflows.map((c) => {
              const t = c.meta.table as CutflowTableData | undefined
              const html = arts.find(
                (a) => a.kind === 'table' && a.meta.dataset === ds && a.meta.stage === c.meta.stage,
              )
              return (
                <div key={c.id} className="hep-cutflow" data-testid={`hep-cutflow-${String(c.meta.stage)}`}>
                  <div className="panel-head">
                    <h4>
                      cutflow of {String(c.meta.stage)} ({ds})
                    </h4>
                    <a href={url(c.id, true)} download>
                      JSON
                    </a>
                    {html ? (
                      <a href={url(html.id, true)} download>
                        HTML
                      </a>
                    ) : null}
                  </div>
                  {t ? (
                    <table>
                      <thead>
                        <tr>
                          {t.columns.map((col, i) => (
                            // biome-ignore lint/suspicious/noArrayIndexKey: pre-existing: review when this component is next changed
                            <th key={i}>{unescapeHtml(col)}</th>
                          ))}
                        </tr>
                      </thead>
                      <tbody>
                        {t.rows.map((r, i) => (
                          // biome-ignore lint/suspicious/noArrayIndexKey: pre-existing: review when this component is next changed
                          <tr key={i} className={`cut-${r.kind}`}>
                            {r.cells.map((cell, j) => (
                              // biome-ignore lint/suspicious/noArrayIndexKey: pre-existing: review when this component is next changed
                              <td key={j} style={j === 0 ? { paddingLeft: `${r.depth + 0.3}em` } : undefined}>
                                {unescapeHtml(cell)}
                              </td>
                            ))}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  ) : null}
                </div>
              )
            })}
          </div>
        )
      })}
    </section>
  )
}
