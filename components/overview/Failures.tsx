'use client'
/** Recent failures, each with the task that failed first, how it ended, and the way to fix and resume it. */
import Link from 'next/link'
import { describeExit } from './format'
import type { Failure } from './types'

export function Failures({ failures }: { failures: Failure[] }) {
  if (failures.length === 0) return <p className="muted">No failed runs.</p>
  return (
    <ul className="ov-failures" data-testid="ov-failures">
      {failures.map((f) => (
        <li key={f.runId} data-testid="ov-failure" data-run={f.runId}>
          <Link href={`/runs/${f.runId}`}>
            {f.workflowName} <span className="muted">v{f.versionNumber}</span>
          </Link>{' '}
          {f.task ? (
            <span data-testid="ov-failed-task">
              stage <strong className="mono">{f.task.stageId}</strong>
              {f.task.partitionKey ? <span className="muted"> [{f.task.partitionKey}]</span> : null} failed:{' '}
              {describeExit(f.task)}
              {f.failedTasks > 1 ? <span className="muted"> (+{f.failedTasks - 1} more)</span> : null}
            </span>
          ) : (
            <span>{f.error ?? 'failed'}</span>
          )}{' '}
          <span className="muted">{f.finishedAt ? new Date(f.finishedAt).toLocaleString() : ''}</span>{' '}
          <Link href={`/runs/${f.runId}#fix-and-resume`} className="ov-fix">
            Fix and resume
          </Link>
        </li>
      ))}
    </ul>
  )
}
