'use client'
/**
 * HEP results of a run, while it runs: per stage and dataset, partitions done / total and events
 * processed, then the physics so far: histograms and cutflows merged from the partitions finished
 * (server/hep/partial.ts), each saying how many partitions it includes, "final" once all are in.
 * The panel re-reads when the run's event stream reports finished tasks (`tick`), so plots grow as
 * partitions finish. Plots are <img> of the live route (scripts in an SVG never run in an <img>);
 * each is downloadable as SVG, PNG and UHI JSON (hist / boost-histogram). Cutflow cells are escaped
 * by the server renderer and rendered as text here. Nothing is shown for runs without hep.* stages.
 */
import { useQuery } from '@tanstack/react-query'
import { useEffect, useRef } from 'react'
import { useTRPC } from '~/components/trpc/client'

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

function liveUrl(
  runId: string,
  q: { stage: string; dataset: string; histogram?: string; format: string; v?: number; download?: boolean },
) {
  const p = new URLSearchParams({ stage: q.stage, dataset: q.dataset, format: q.format })
  if (q.histogram !== undefined) p.set('histogram', q.histogram)
  // a new URL per merged state: the browser fetches the plot again as partitions finish
  if (q.v !== undefined) p.set('v', String(q.v))
  if (q.download) p.set('download', '1')
  return `/runs/${encodeURIComponent(runId)}/artifacts/live?${p.toString()}`
}

/**
 * `tick` changes when the run's event stream reports finished tasks: the results are read again.
 */
export function HepPanel({ runId, active, tick = 0 }: { runId: string; active: boolean; tick?: number }) {
  const trpc = useTRPC()
  // the stream drives the updates; the interval only covers a stream that is down
  const progress = useQuery({ ...trpc.run.hepProgress.queryOptions({ runId }), refetchInterval: active ? 5000 : false })
  const refetch = progress.refetch
  // at most one read per second however fast partitions finish (1,000 partitions stay cheap)
  const last = useRef(0)
  // biome-ignore lint/correctness/useExhaustiveDependencies: re-read on each stream tick and when the run ends
  useEffect(() => {
    const wait = Math.max(0, last.current + 1000 - Date.now())
    const timer = setTimeout(
      () => {
        last.current = Date.now()
        void refetch({ cancelRefetch: false })
      },
      active ? wait : 0,
    )
    return () => clearTimeout(timer)
  }, [tick, active, refetch])
  const rows = progress.data ?? []
  if (!rows.length) return null
  const withResults = rows.filter((r) => r.results)

  return (
    <section className="run-panel hep-panel" data-testid="hep-panel">
      <div className="panel-head">
        <h2>HEP results</h2>
        {active ? <span className="muted">updating as partitions finish…</span> : null}
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
      {withResults.some((r) => r.results!.histograms.length) ? (
        <p className="muted hep-howto" data-testid="hep-howto">
          Each plot downloads as SVG or PNG, and its data as JSON in scikit-hep&rsquo;s UHI form, which{' '}
          <code>hist</code> and boost-histogram read in one line:{' '}
          <code>hist.Hist(json.load(open(path), object_hook=uhi.io.json.object_hook))</code> (flow bins included; the
          partitions it holds are in its metadata).
        </p>
      ) : null}
      {withResults.map((r) => {
        const res = r.results!
        const status = res.final ? 'final' : `partial: ${res.included} of ${res.total} partitions`
        const key = { stage: r.stage, dataset: r.dataset }
        return (
          <div
            key={`${r.stage}/${r.dataset}`}
            className="hep-dataset"
            data-testid={`hep-results-${r.stage}-${r.dataset}`}
            data-included={res.included}
            data-total={res.total}
            data-final={res.final ? 'true' : 'false'}
          >
            <h3>
              {r.stage} on dataset <span className="mono">{r.dataset}</span>{' '}
              <span className={res.final ? undefined : 'muted'} data-testid={`hep-status-${r.stage}-${r.dataset}`}>
                ({status}, {res.events.toLocaleString()} events)
              </span>
            </h3>
            {res.histograms.length ? (
              <div className="hep-plots">
                {res.histograms.map((h) => (
                  <figure
                    key={h.name}
                    className="hep-plot"
                    data-testid={`hep-plot-${h.name}`}
                    data-included={res.included}
                    data-final={res.final ? 'true' : 'false'}
                  >
                    {/** biome-ignore lint/performance/noImgElement: an SVG from our route; next/image adds nothing here */}
                    <img
                      src={liveUrl(runId, { ...key, histogram: h.name, format: 'svg', v: res.included })}
                      alt={`${h.title} (${r.dataset}, ${status})`}
                      width={480}
                      height={330}
                    />
                    <figcaption>
                      <span>
                        {h.name} · {h.entries.toLocaleString()} entries · {status}
                      </span>
                      <a href={liveUrl(runId, { ...key, histogram: h.name, format: 'svg', download: true })} download>
                        SVG
                      </a>
                      <a href={liveUrl(runId, { ...key, histogram: h.name, format: 'png', download: true })} download>
                        PNG
                      </a>
                      <a
                        href={liveUrl(runId, { ...key, histogram: h.name, format: 'uhi', download: true })}
                        download
                        title="UHI JSON: hist.Hist(json.load(f, object_hook=uhi.io.json.object_hook))"
                      >
                        JSON
                      </a>
                    </figcaption>
                  </figure>
                ))}
              </div>
            ) : null}
            {res.cutflow ? (
              <div className="hep-cutflow" data-testid={`hep-cutflow-${r.stage}`}>
                <div className="panel-head">
                  <h4>
                    cutflow of {r.stage} ({r.dataset}, {status})
                  </h4>
                  <a href={liveUrl(runId, { ...key, format: 'json', download: true })} download>
                    JSON
                  </a>
                  <a href={liveUrl(runId, { ...key, format: 'html', download: true })} download>
                    HTML
                  </a>
                </div>
                <table>
                  <thead>
                    <tr>
                      {res.cutflow.columns.map((col) => (
                        <th key={col}>{unescapeHtml(col)}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {res.cutflow.rows.map((row, i) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional (cuts may repeat a name)
                      <tr key={i} className={`cut-${row.kind}`}>
                        {row.cells.map((cell, j) => (
                          // biome-ignore lint/suspicious/noArrayIndexKey: cells are positional
                          <td key={j} style={j === 0 ? { paddingLeft: `${row.depth + 0.3}em` } : undefined}>
                            {unescapeHtml(cell)}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : null}
          </div>
        )
      })}
    </section>
  )
}
