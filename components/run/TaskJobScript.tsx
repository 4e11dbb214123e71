'use client'
/**
 * What was submitted for the selected task: its batch job id, worker, host, reason, and the job
 * script (and HTCondor submit description) as recorded at submission (`run.jobScript`), fetched
 * when opened.
 */
import { useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'

export function TaskJobScript({ taskId, active }: { taskId: string; active: boolean }) {
  const trpc = useTRPC()
  const [open, setOpen] = useState(false)
  const q = useQuery({
    ...trpc.run.jobScript.queryOptions({ taskId }),
    refetchInterval: active ? 3000 : false,
    retry: false,
  })
  const d = q.data
  return (
    <section className="task-job" data-testid="task-job-script" data-task-id={taskId}>
      <div className="task-job-facts">
        <span>
          batch job <code data-testid="task-job-id">{d?.batchJobId ?? '–'}</code>
        </span>
        <span>
          worker <code>{d?.workerId ?? '–'}</code>
        </span>
        <span>
          host <code>{d?.host ?? '–'}</code>
        </span>
        <span>
          try <code>{d ? d.attempt + 1 : '–'}</code>
        </span>
        <span className="task-job-reason" title={d?.reason ?? undefined}>
          reason: {d?.reason ?? '–'}
        </span>
        <button
          type="button"
          className="linklike"
          onClick={() => setOpen((o) => !o)}
          data-testid="task-job-script-toggle"
          disabled={!d?.files.length && !q.error}
        >
          {open ? 'hide job script' : 'job script'}
        </button>
      </div>
      {q.error ? (
        <div className="run-alert" role="alert" data-testid="task-job-script-error">
          {q.error.message}
        </div>
      ) : null}
      {d?.note ? <div className="muted small">{d.note}</div> : null}
      {open && d
        ? d.files.map((f) => (
            <div key={f.label} className="task-job-file">
              <div className="muted small">
                {f.label} <code>{f.path}</code>
                {d.submittedAttempt != null && d.submittedAttempt !== d.attempt
                  ? ` (attempt ${d.submittedAttempt + 1})`
                  : ''}
                {f.truncated ? ' (truncated)' : ''}
              </div>
              <pre className="task-job-text">{f.text}</pre>
            </div>
          ))
        : null}
    </section>
  )
}
