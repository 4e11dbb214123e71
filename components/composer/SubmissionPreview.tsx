'use client'
/**
 * The plan panel's "Submission" tab: exactly what would be submitted for every pool (sbatch script,
 * HTCondor submit description + job script, Dask worker job, local command), rendered on the server
 * from the YAML being edited (`plan.preview`, debounced) with the preflight problems (Slurm
 * unreachable, unknown partition, impossible gres, ...). Nothing is submitted.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useTRPCClient } from '~/components/trpc/client'
import { ProblemList } from '~/components/plan/ProblemList'
import { CopyButton } from '~/components/ui/CopyButton'
import { useDebounced } from '~/components/ui/useDebounced'

/** the preview is fetched this long after the last change */
export const SUBMISSION_DEBOUNCE_MS = 500
const MAX_PREVIEW_CHARS = 512 * 1024

export function SubmissionPreview({ source }: { source: string }) {
  const client = useTRPCClient()
  const yaml = useDebounced(source, SUBMISSION_DEBOUNCE_MS)
  const tooLarge = yaml.length > MAX_PREVIEW_CHARS
  // `plan.preview` changes nothing but is sent as a POST (a tRPC mutation): the workflow is the input
  // and would not fit in a GET URL. Cached like a query, by the YAML it previews.
  const q = useQuery({
    queryKey: ['plan.preview', yaml],
    queryFn: () => client.plan.preview.mutate({ yaml }),
    enabled: !tooLarge,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    refetchOnWindowFocus: false,
  })
  if (tooLarge) return <p className="muted">The workflow is too large to preview its submissions.</p>
  if (q.error && !q.data)
    return (
      <div className="submission-error error" role="alert">
        Preview failed: {q.error.message}
      </div>
    )
  if (!q.data)
    return (
      <p className="muted" data-testid="submission-loading">
        Rendering the submissions…
      </p>
    )
  const d = q.data
  return (
    <div
      className="submission-preview"
      data-testid="submission-preview"
      data-stale={q.isFetching || yaml !== source ? 'true' : 'false'}
    >
      <div className="submission-head">
        backend <code>{d.backend ?? '—'}</code> · strategy <code>{d.strategy ?? '—'}</code>
        {q.isFetching || yaml !== source ? <span className="muted"> · updating…</span> : null}
        <span className="muted">
          {' '}
          · preview only: nothing is submitted; the run id and task are filled in at dispatch
        </span>
      </div>
      {d.compileProblems.length ? (
        <ProblemList
          problems={d.compileProblems}
          testId="submission-compile-problems"
          className="submission-problem-list"
        />
      ) : null}
      {d.problems.length ? (
        <ProblemList problems={d.problems} testId="submission-problems" className="submission-problem-list" />
      ) : null}
      {d.pools.length === 0 && !d.compileProblems.length ? <p className="muted">No pools.</p> : null}
      {d.pools.map((p) => (
        <section
          key={p.pool}
          className="submission-pool"
          data-testid={`submission-${p.pool}`}
          data-kind={p.submission?.kind ?? ''}
        >
          <header>
            <strong>{p.pool}</strong>
            <span className="muted">
              {' '}
              · {p.submission?.kind ?? 'no submission'} · stages {p.stages.join(', ') || '(none)'}
            </span>
            {p.submission ? <CopyButton text={p.submission.text} testId={`submission-copy-${p.pool}`} /> : null}
          </header>
          {p.problems.length ? (
            <ProblemList
              problems={p.problems}
              testId={`submission-problems-${p.pool}`}
              className="submission-problem-list"
            />
          ) : null}
          {p.error ? <div className="error">Could not render: {p.error}</div> : null}
          {p.submission ? <pre className="submission-text">{p.submission.text}</pre> : null}
        </section>
      ))}
    </div>
  )
}
