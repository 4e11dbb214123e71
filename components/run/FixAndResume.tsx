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
  const resumable = state === 'failed' || state === 'cancelled'
  const history = useQuery({ ...trpc.workflow.history.queryOptions({ id: workflowId }), enabled: resumable })
  if (!resumable) return null
  const newer = (history.data?.versions ?? []).filter((v) => v.number > versionNumber && v.valid)
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
            : 'in the composer and save a fixed version: the composer then resumes this run with it, reusing what succeeded.'}
        </span>
      </p>
      <ResumeChooser runId={runId} workflowId={workflowId} versionNumber={versionNumber} />
    </section>
  )
}

/**
 * The version to resume with (this run's or a later valid one; `onlyNewer`: only a later one, the
 * fix), what each stage does in the new run and why, and the button that starts it.
 */
function ResumeChooser({
  runId,
  workflowId,
  versionNumber,
  onlyNewer = false,
}: {
  runId: string
  workflowId: string
  versionNumber: number
  onlyNewer?: boolean
}) {
  const trpc = useTRPC()
  const router = useRouter()
  const history = useQuery(trpc.workflow.history.queryOptions({ id: workflowId }))
  const versions = (history.data?.versions ?? []).filter(
    (v) => v.valid && (onlyNewer ? v.number > versionNumber : v.number >= versionNumber),
  )
  const [chosen, setChosen] = useState<string>('')
  const versionId = versions.some((v) => v.id === chosen) ? chosen : versions[0]?.id || ''
  const preview = useQuery({
    ...trpc.overview.resumePreview.queryOptions({ runId, versionId }),
    enabled: Boolean(versionId),
  })
  const resume = useMutation(
    trpc.overview.resume.mutationOptions({ onSuccess: (r) => router.push(`/runs/${r.runId}`) }),
  )
  if (!versions.length) return null
  return (
    <>
      <div className="fix-resume-choose">
        <label htmlFor={`fix-resume-version-${runId}`}>Resume with</label>{' '}
        <select
          id={`fix-resume-version-${runId}`}
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
    </>
  )
}

/**
 * The composer's banner when it was opened to fix a run (`?resumeFrom=<runId>`): the edit happens
 * here, and once a fixed version is saved (Save refreshes workflow.history) the same banner shows
 * what the resumed run reuses and starts it, without going back to the run.
 */
export function ResumeBanner({ runId }: { runId: string }) {
  const trpc = useTRPC()
  const run = useQuery(trpc.run.get.queryOptions({ runId }))
  const r = run.data?.run
  const history = useQuery({ ...trpc.workflow.history.queryOptions({ id: r?.workflowId ?? '' }), enabled: !!r })
  const saved = r ? (history.data?.versions ?? []).some((v) => v.valid && v.number > r.versionNumber) : false
  return (
    <section className="resume-banner" aria-label="Fix and resume" data-testid="resume-banner">
      <p role="status">
        Fixing run <Link href={`/runs/${runId}#fix-and-resume`}>{runId.slice(0, 12)}</Link>
        {r ? ` (${r.workflowName} v${r.versionNumber}, ${r.state})` : ''}:{' '}
        {saved ? (
          <>resume it with the fixed version: unchanged stages that succeeded are reused.</>
        ) : (
          <>
            edit, <strong>Save</strong>, and resume it here (unchanged stages that succeeded are reused).
          </>
        )}
      </p>
      {run.error ? (
        <p className="error" role="alert">
          {run.error.message}
        </p>
      ) : null}
      {r && saved ? (
        <ResumeChooser runId={runId} workflowId={r.workflowId} versionNumber={r.versionNumber} onlyNewer />
      ) : null}
    </section>
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
