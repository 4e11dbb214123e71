'use client'
/**
 * Fix and resume (on a failed or cancelled run): edit the workflow in the composer, save, and
 * start a new run of the fixed version that reuses every succeeded task whose stage did not
 * change. Before starting, the table says for each stage whether it is reused and why
 * (`overview.resumePreview`, decided by server/execution/resume.ts).
 *
 *   <FixAndResume runId={run.id} workflowId={run.workflowId} versionNumber={run.versionNumber} state={live.runState} />
 *
 * `ResumeBanner` is shown by the composer when it was opened from here (`?resumeFrom=<runId>`).
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { useMutation, useQuery } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import './run.css'

const VERDICT_TEXT: Record<string, string> = {
  reused: 'reused',
  'partly-reused': 'partly reused',
  changed: 'runs again',
  'upstream-reruns': 'runs again',
  'not-succeeded': 'runs again',
  new: 'runs (new)',
}

export interface FixAndResumeProps {
  runId: string
  workflowId: string
  versionNumber: number
  state: string
}

export function FixAndResume({ runId, workflowId, versionNumber, state }: FixAndResumeProps) {
  const trpc = useTRPC()
  const router = useRouter()
  const resumable = state === 'failed' || state === 'cancelled'
  const history = useQuery({ ...trpc.workflow.history.queryOptions({ id: workflowId }), enabled: resumable })
  const versions = (history.data?.versions ?? []).filter((v) => v.number >= versionNumber && v.valid)
  const [chosen, setChosen] = useState<string>('')
  const versionId = chosen || versions[0]?.id || ''
  const preview = useQuery({
    ...trpc.overview.resumePreview.queryOptions({ runId, versionId }),
    enabled: resumable && Boolean(versionId),
  })
  const resume = useMutation(
    trpc.overview.resume.mutationOptions({ onSuccess: (r) => router.push(`/runs/${r.runId}`) }),
  )
  if (!resumable) return null
  const newer = versions.filter((v) => v.number > versionNumber)
  return (
    <section className="fix-resume" id="fix-and-resume" data-testid="fix-and-resume" aria-labelledby="fix-resume-title">
      <h2 id="fix-resume-title">Fix and resume</h2>
      <p>
        <Link
          className="button-link"
          href={`/compose?workflow=${workflowId}&resumeFrom=${runId}`}
          data-testid="fix-edit-workflow"
        >
          Edit the workflow
        </Link>{' '}
        <span className="muted">
          {newer.length
            ? 'then save, and resume with the fixed version below.'
            : 'in the composer and save a fixed version; this run can then resume with it, reusing what succeeded.'}
        </span>
      </p>
      {versions.length ? (
        <div className="fix-resume-choose">
          <label htmlFor="fix-resume-version">Resume with</label>{' '}
          <select
            id="fix-resume-version"
            value={versionId}
            onChange={(e) => setChosen(e.target.value)}
            data-testid="fix-resume-version"
          >
            {versions.map((v) => (
              <option key={v.id} value={v.id}>
                v{v.number}
                {v.number === versionNumber ? ' (this run’s version)' : ''}
                {v.message ? ` — ${v.message.slice(0, 60)}` : ''}
              </option>
            ))}
          </select>{' '}
          <button
            type="button"
            className="primary"
            data-testid="fix-resume-start"
            disabled={!preview.data || resume.isPending || resume.isSuccess}
            onClick={() => resume.mutate({ runId, versionId })}
          >
            {resume.isPending || resume.isSuccess ? 'Starting…' : 'Resume from the failure'}
          </button>
        </div>
      ) : null}
      {preview.error ? (
        <p className="error" role="alert">
          {preview.error.message}
        </p>
      ) : null}
      {resume.error ? (
        <p className="error" role="alert">
          {resume.error.message}
        </p>
      ) : null}
      {preview.data ? (
        <table className="fix-resume-table" data-testid="fix-resume-plan">
          <caption className="muted">
            {preview.data.reused.length
              ? `${preview.data.reused.length} stage${preview.data.reused.length === 1 ? '' : 's'} reused, ${preview.data.rerun.length} run${preview.data.rerun.length === 1 ? 's' : ''} again`
              : `nothing reused: ${preview.data.rerun.length} stage${preview.data.rerun.length === 1 ? '' : 's'} run`}
            {preview.data.removed.length ? `; removed: ${preview.data.removed.join(', ')}` : ''}
          </caption>
          <thead>
            <tr>
              <th scope="col">stage</th>
              <th scope="col">in the new run</th>
              <th scope="col">why</th>
            </tr>
          </thead>
          <tbody>
            {preview.data.stages.map((s) => (
              <tr key={s.stageId} data-verdict={s.verdict} data-testid={`resume-stage-${s.stageId}`}>
                <td className="mono">{s.stageId}</td>
                <td>
                  <span className={`resume-verdict verdict-${s.verdict}`}>{VERDICT_TEXT[s.verdict] ?? s.verdict}</span>
                </td>
                <td>{s.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  )
}

/** the composer's banner when it was opened to fix a run */
export function ResumeBanner({ runId }: { runId: string }) {
  return (
    <div className="resume-banner" role="status" data-testid="resume-banner">
      Fixing run <span className="mono">{runId.slice(0, 12)}</span>: edit, <strong>Save</strong>, then{' '}
      <Link href={`/runs/${runId}#fix-and-resume`}>go back to the run to resume it</Link> (unchanged stages that
      succeeded are reused).
    </div>
  )
}

/** how the run was launched: run parameters and, for a resumed run, what was reused */
export function RunLaunchInfo({ runId }: { runId: string }) {
  const trpc = useTRPC()
  const origin = useQuery(trpc.overview.runOrigin.queryOptions({ runId }))
  const o = origin.data
  if (!o || (!o.parameters.length && !o.resumedFrom && !o.overrides)) return null
  return (
    <div className="run-origin" data-testid="run-origin">
      {o.parameters.length ? (
        <div data-testid="run-parameters">
          <strong>Run parameters:</strong>{' '}
          {o.parameters.map((p) => (
            <code key={p.key} className="run-param">
              {p.key} = {p.value}
            </code>
          ))}
        </div>
      ) : null}
      {o.overrides && (o.overrides.backend || o.overrides.strategy) ? (
        <div>
          <strong>Launched with:</strong> {o.overrides.backend ? `backend ${o.overrides.backend}` : ''}{' '}
          {o.overrides.strategy ? `strategy ${o.overrides.strategy}` : ''}
        </div>
      ) : null}
      {o.resumedFrom ? (
        <details data-testid="run-resumed-from">
          <summary>
            Resumed from failed run{' '}
            <Link href={`/runs/${o.resumedFrom.runId}`}>{o.resumedFrom.runId.slice(0, 12)}</Link>: reused{' '}
            {o.resumedFrom.stages.filter((s) => s.verdict === 'reused').length} of {o.resumedFrom.stages.length} stages
          </summary>
          <ul>
            {o.resumedFrom.stages.map((s) => (
              <li key={s.stageId}>
                <span className="mono">{s.stageId}</span>: {s.reason}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  )
}
