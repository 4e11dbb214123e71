'use client'
/**
 * Run header: workflow / version, state, backend / strategy, started / duration, counts per state,
 * and the actions: Cancel, Retry failed, Re-run from a stage.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useMemo, useState } from 'react'
import { useMutation } from '@tanstack/react-query'
import { useTRPC, useTRPCClient } from '~/components/trpc/client'
import { FINISHED_RUN_STATES, formatDuration, formatTime, shortId, STATE_COLORS, TASK_STATE_ORDER } from './aggregate'
import type { LiveState } from './liveState'
import type { StreamStatus } from './useRunLive'
import type { RunDetail } from './types'
import { FixAndResume, RunLaunchInfo } from './FixAndResume'

export interface RunHeaderProps {
  detail: RunDetail
  live: LiveState
  counts: Record<string, number>
  now: number
  stream: StreamStatus
  selectedStage: string | null
  onChanged: () => void
}

export function StateBadge({ state, testId }: { state: string; testId?: string }) {
  return (
    <span
      className={`run-badge state-${state}`}
      data-testid={testId}
      data-state={state}
      style={{ ['--state' as string]: STATE_COLORS[state] ?? '#888' }}
    >
      {state}
    </span>
  )
}

export function RunHeader({ detail, live, counts, now, stream, selectedStage, onChanged }: RunHeaderProps) {
  const trpc = useTRPC()
  const client = useTRPCClient()
  const router = useRouter()
  const run = detail.run
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | null>(null)
  const [rerunStage, setRerunStage] = useState<string>('')
  // the same elements while the stages are the same: React skips them when the counts re-render the
  // header (a run of 1,000 stages has 1,000 options)
  const stageOptions = useMemo(
    () =>
      detail.stages.map((s) => (
        <option key={s.id} value={s.id}>
          {s.id}
        </option>
      )),
    [detail.stages],
  )
  const finished = FINISHED_RUN_STATES.has(live.runState)
  const failedCount = (counts.failed ?? 0) + (counts.lost ?? 0)
  const total = Object.values(counts).reduce((a, b) => a + b, 0)
  const started = live.startedAt
  const duration = started ? (live.finishedAt ?? (finished ? started : now)) - started : null

  const cancel = useMutation(
    trpc.run.cancel.mutationOptions({
      onSuccess: (r) => {
        setMessage({
          kind: 'info',
          text: r.forwarded ? 'Cancel requested from the process that owns the run.' : 'Cancelling…',
        })
        onChanged()
      },
      onError: (e) => setMessage({ kind: 'error', text: e.message }),
    }),
  )
  const rerun = useMutation(
    trpc.run.rerunFrom.mutationOptions({
      onSuccess: (r) => router.push(`/runs/${r.runId}`),
      onError: (e) => setMessage({ kind: 'error', text: e.message }),
    }),
  )
  const [retrying, setRetrying] = useState(false)
  async function retryFailed() {
    setRetrying(true)
    setMessage(null)
    try {
      let ok = 0
      const errors: string[] = []
      // up to 5,000 failed tasks, 8 requests at a time; a retried task leaves the filter, so every
      // round reads the first page again
      for (let round = 0; round < 5; round++) {
        const res = await client.run.tasks.query({ runId: run.id, state: ['failed', 'lost'], limit: 1000, cursor: 0 })
        const ids = res.items.map((t) => t.id)
        if (!ids.length) break
        const before = ok
        for (let i = 0; i < ids.length; i += 8) {
          const rs = await Promise.allSettled(
            ids.slice(i, i + 8).map((taskId) => client.run.retryTask.mutate({ taskId })),
          )
          for (const r of rs) r.status === 'fulfilled' ? ok++ : errors.push((r.reason as Error).message)
        }
        if (ok === before || res.nextCursor == null) break
      }
      setMessage(
        errors.length
          ? { kind: 'error', text: `retried ${ok}; ${errors.length} refused: ${errors[0]}` }
          : { kind: 'info', text: `retried ${ok} task${ok === 1 ? '' : 's'}` },
      )
      onChanged()
    } catch (e) {
      setMessage({ kind: 'error', text: (e as Error).message })
    } finally {
      setRetrying(false)
    }
  }

  const stageForRerun = rerunStage || selectedStage || ''
  return (
    <header className="run-header" data-testid="run-header">
      <div className="rh-title">
        <h1>
          <Link href={`/runs?workflow=${run.workflowId}`} title="History of this workflow's runs">
            {run.workflowName}
          </Link>{' '}
          <Link className="muted rh-version" href={`/workflows/${run.workflowId}`}>
            v{run.versionNumber}
          </Link>
        </h1>
        <StateBadge state={live.runState} testId="run-state" />
        <span
          className={`rh-stream ${stream}`}
          data-testid="run-stream"
          data-stream={stream}
          title={stream === 'live' ? 'live updates connected' : stream === 'connecting' ? 'reconnecting…' : stream}
        >
          {stream === 'live'
            ? '● live'
            : stream === 'connecting'
              ? '◌ connecting'
              : stream === 'error'
                ? '✖ disconnected'
                : ''}
        </span>
        <div className="rh-actions">
          <button
            type="button"
            data-testid="run-cancel"
            disabled={finished || live.runState === 'cancelling' || cancel.isPending}
            onClick={() => cancel.mutate({ runId: run.id })}
          >
            Cancel run
          </button>
          <button
            type="button"
            data-testid="run-retry-failed"
            disabled={failedCount === 0 || retrying}
            onClick={() => void retryFailed()}
            title="Retry every failed or lost task"
          >
            Retry failed{failedCount ? ` (${failedCount})` : ''}
          </button>
          <span className="rh-rerun">
            <select
              aria-label="Stage to re-run from"
              value={stageForRerun}
              onChange={(e) => setRerunStage(e.target.value)}
              data-testid="rerun-stage"
            >
              <option value="">re-run from…</option>
              {stageOptions}
            </select>
            <button
              type="button"
              data-testid="run-rerun"
              disabled={!stageForRerun || rerun.isPending}
              onClick={() => rerun.mutate({ runId: run.id, stageId: stageForRerun })}
              title="A new run of the same plan reusing the succeeded upstream tasks"
            >
              Re-run
            </button>
          </span>
        </div>
      </div>
      <dl className="rh-facts">
        <div>
          <dt>run</dt>
          <dd className="mono" title={run.id}>
            {shortId(run.id, 10)}
          </dd>
        </div>
        <div>
          <dt>backend / strategy</dt>
          <dd data-testid="run-backend">
            {run.backend} / {run.strategy}
          </dd>
        </div>
        <div>
          <dt>started</dt>
          <dd>{started ? formatTime(started) : 'not yet'}</dd>
        </div>
        <div>
          <dt>duration</dt>
          <dd data-testid="run-duration">{formatDuration(duration)}</dd>
        </div>
        <div>
          <dt>source</dt>
          <dd>{run.source}</dd>
        </div>
        {run.reusedFrom ? (
          <div>
            <dt>re-run of</dt>
            <dd>
              <Link href={`/runs/${run.reusedFrom}`}>{shortId(run.reusedFrom, 10)}</Link>
              {run.rerunFromStage ? ` from ${run.rerunFromStage}` : ''}
            </dd>
          </div>
        ) : null}
      </dl>
      <div className="rh-counts" data-testid="run-counts">
        <span className="muted">
          {total} task{total === 1 ? '' : 's'}:
        </span>
        {TASK_STATE_ORDER.filter((s) => counts[s]).map((s) => (
          <span
            key={s}
            className="rh-count"
            data-state={s}
            data-testid={`run-count-${s}`}
            style={{ ['--state' as string]: STATE_COLORS[s] }}
          >
            {counts[s]} {s}
          </span>
        ))}
        {total > 0 ? (
          <span className="rh-bar" aria-hidden>
            {(['succeeded', 'failed', 'lost', 'cancelled', 'running', 'retrying', 'queued'] as const).map((s) =>
              counts[s] ? (
                <span key={s} style={{ width: `${(100 * counts[s]) / total}%`, background: STATE_COLORS[s] }} />
              ) : null,
            )}
          </span>
        ) : null}
      </div>
      {live.error && live.runState === 'failed' ? (
        <div className="run-alert" role="alert">
          {live.error}
        </div>
      ) : null}
      <RunLaunchInfo runId={run.id} />
      <FixAndResume
        runId={run.id}
        workflowId={run.workflowId}
        versionNumber={run.versionNumber}
        state={live.runState}
      />
      {message && (message.kind === 'error' || !finished || message.text.startsWith('retried')) ? (
        <div
          className={message.kind === 'error' ? 'run-alert' : 'run-note'}
          role={message.kind === 'error' ? 'alert' : 'status'}
        >
          {message.text}
        </div>
      ) : null}
    </header>
  )
}
