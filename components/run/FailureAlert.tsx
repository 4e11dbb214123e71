'use client'
/**
 * The failure alert: once a task of the run has failed, names the first one that failed (stage,
 * partition), its exit code or signal and reason, and shows the last lines of its log (stderr, else
 * stdout; redacted by the server like every log read), with a button to open its full log.
 */
import { useQuery } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import { toMs } from './aggregate'
import type { RunTaskRow } from './types'

export const ALERT_LINES = 12
const TAIL_BYTES = 4096

/** the last `n` non-empty lines of a log chunk (the first may be cut: it is dropped when partial) */
export function lastLines(text: string, n: number, fromStart: boolean): string[] {
  const lines = text.split('\n')
  if (!fromStart) lines.shift()
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop()
  return lines.slice(-n)
}

/** `exit code 3`, `signal SIGKILL`, or null */
export function exitText(t: Pick<RunTaskRow, 'exitCode' | 'signal'>): string | null {
  if (t.signal) return `signal ${t.signal}`
  if (t.exitCode != null) return `exit code ${t.exitCode}`
  return null
}

export function FailureAlert({
  runId,
  failed,
  onOpenLog,
}: {
  runId: string
  /** failed + lost tasks now (the alert appears and refreshes when this changes) */
  failed: number
  onOpenLog: (taskId: string, label: string) => void
}) {
  const trpc = useTRPC()
  const first = useQuery({
    ...trpc.run.tasks.queryOptions({ runId, state: ['failed', 'lost'], sort: 'started', limit: 50 }),
    enabled: failed > 0,
  })
  // the one that finished first is the likely cause (the others are often its consequences)
  const task = (first.data?.items ?? [])
    .slice()
    .sort((a, b) => (toMs(a.finishedAt) ?? Infinity) - (toMs(b.finishedAt) ?? Infinity))[0]
  const stderr = useQuery({
    ...trpc.run.log.queryOptions({ taskId: task?.id ?? '-', stream: 'stderr', tail: true, limit: TAIL_BYTES }),
    enabled: !!task,
  })
  const useStdout = !!stderr.data && stderr.data.text.trim() === ''
  const stdout = useQuery({
    ...trpc.run.log.queryOptions({ taskId: task?.id ?? '-', stream: 'stdout', tail: true, limit: TAIL_BYTES }),
    enabled: !!task && useStdout,
  })
  if (failed === 0 || !task) return null
  const log = useStdout ? stdout.data : stderr.data
  const lines = log ? lastLines(log.text, ALERT_LINES, log.offset === 0) : []
  const partition = task.partitionKey ?? (task.partitionIndex != null ? `#${task.partitionIndex}` : null)
  const label = `${task.stageId}${partition ? ` ${partition}` : ''}`
  const exit = exitText(task)
  return (
    <section className="run-alert failure-alert" role="alert" data-testid="failure-alert" data-task-id={task.id}>
      <div className="fa-head">
        <strong>
          Task <span data-testid="failure-task">{label}</span> {task.state}
        </strong>
        {exit ? <span data-testid="failure-exit"> · {exit}</span> : null}
        {/* the reason is often the exit code itself ("exit code 3"): said once */}
        {task.reason && task.reason !== exit ? <span className="fa-reason"> · {task.reason}</span> : null}
        {failed > 1 ? <span className="muted"> · {failed - 1} more failed</span> : null}
        <button type="button" onClick={() => onOpenLog(task.id, label)} data-testid="failure-open-log">
          open its log
        </button>
      </div>
      {lines.length ? (
        <pre className="fa-lines" data-testid="failure-lines">
          <span className="muted">
            last lines of {useStdout ? 'stdout' : 'stderr'}:{'\n'}
          </span>
          {lines.join('\n')}
        </pre>
      ) : (
        <div className="muted">{log ? 'the task wrote nothing' : 'reading its log…'}</div>
      )}
    </section>
  )
}
