'use client'
/**
 * /runs/<id>: the live run page. Header; the DAG (one node per stage, coloured by pool, filled by
 * state, n/N); pools and workers; the timeline; the task table and the log of the selected task.
 * State comes from useRunLive (snapshot + batched event stream).
 */
import Link from 'next/link'
import { useCallback, useEffect, useMemo, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { assignPoolColors } from '~/components/dag/palette'
import { httpStatusOf } from '~/components/trpc/client'
import type { ExecutionPlan } from '~/server/workflow/types'
import { FINISHED_RUN_STATES } from './aggregate'
import { DaskPanel } from './DaskPanel'
import { FailureAlert } from './FailureAlert'
import { Gantt } from './Gantt'
import { HepPanel } from './HepPanel'
import { PoolProfile } from './PoolProfile'
import type { GanttWorker } from './gantt'
import { groupStages } from './grouping'
import { runCounts } from './liveState'
import { RunGraph } from './RunGraph'
import { RunHeader } from './RunHeader'
import { RunLog } from './RunLog'
import { StageRows } from './StageRows'
import { EMPTY_FILTERS, TaskTable, type TaskFilters, type TaskView } from './TaskTable'
import { TaskJobScript } from './TaskJobScript'
import { TaskLog } from './TaskLog'
import { takeStartWarnings } from './StartRunButton'
import { useNow, useRunLive } from './useRunLive'
import { useTimeline } from './useTimeline'
import { WorkersPanel } from './WorkersPanel'
import './run.css'

export function RunPage({ runId }: { runId: string }) {
  const { detail, live, error, stream, active, refresh } = useRunLive(runId)
  const queryClient = useQueryClient()
  const now = useNow(active)
  const [filters, setFilters] = useState<TaskFilters>(EMPTY_FILTERS)
  const [selected, setSelected] = useState<{ id: string; label: string } | null>(null)
  const timeline = useTimeline(runId, live, active, now)
  const [startWarnings, setStartWarnings] = useState<ReturnType<typeof takeStartWarnings>>([])
  useEffect(() => setStartWarnings(takeStartWarnings(runId)), [runId])

  // the run just finished: read the timeline once more (final ends)
  useEffect(() => {
    if (!active) void queryClient.invalidateQueries({ queryKey: ['controlroom', 'run-timeline', runId] })
  }, [active, queryClient, runId])

  const plan = detail?.plan as ExecutionPlan | undefined
  const colors = useMemo(
    () => (plan ? assignPoolColors([...plan.pools.map((p) => p.name), ...plan.stages.map((s) => s.pool)]) : {}),
    [plan],
  )
  const poolOrder = useMemo(() => plan?.pools.map((p) => p.name) ?? [], [plan])
  const groups = useMemo(() => (plan ? groupStages(plan.stages) : []), [plan])
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set())
  const toggleGroup = useCallback(
    (id: string) =>
      setExpanded((prev) => {
        const next = new Set(prev)
        if (!next.delete(id)) next.add(id)
        return next
      }),
    [],
  )
  const counts = useMemo(() => (live ? runCounts(live) : {}), [live])
  // finished tasks so far, from the event stream: the HEP panel re-reads its partial results on each
  const finishedTasks = useMemo(
    () => Object.values(live?.stageCounts ?? {}).reduce((n, c) => n + (c.succeeded ?? 0) + (c.failed ?? 0), 0),
    [live?.stageCounts],
  )
  const liveWorkers = live?.workers
  const workers = useMemo(() => (liveWorkers ? [...liveWorkers.values()] : []), [liveWorkers])
  const ganttWorkers = useMemo<GanttWorker[]>(
    () =>
      workers.map((w) => ({
        id: w.id,
        pool: w.pool,
        state: w.state,
        batchJobId: w.batchJobId,
        host: w.host,
        startedAt: w.startedAt,
        endedAt: w.endedAt,
      })),
    [workers],
  )

  const stageOfTask = useCallback(
    (taskId: string) => live?.tasks.get(taskId)?.stage ?? timeline.tasks.find((t) => t.id === taskId)?.stage ?? null,
    [live?.tasks, timeline.tasks],
  )
  const selectTask = useCallback(
    (id: string | null, view?: TaskView) => {
      if (!id) return setSelected(null)
      const stage = view?.stageId ?? stageOfTask(id)
      setSelected({ id, label: stage ? `${stage}${view?.partition ? ` ${view.partition}` : ''}` : id })
    },
    [stageOfTask],
  )
  const selectStage = useCallback((id: string | null) => setFilters((f) => ({ ...f, stage: id ?? '' })), [])

  if (error && !detail) {
    const status = httpStatusOf(error)
    return (
      <div className="run-page">
        <div className="run-alert" role="alert">
          {status === 404 ? `Run ${runId} not found.` : `Could not load run ${runId}: ${(error as Error).message}`}
        </div>
        <Link href="/runs">All runs</Link>
      </div>
    )
  }
  if (!detail || !live || !plan) return <div className="run-page muted">Loading run…</div>

  const selectedState = selected
    ? (live.tasks.get(selected.id)?.state ?? timeline.tasks.find((t) => t.id === selected.id)?.state ?? null)
    : null
  const t1 =
    live.finishedAt ??
    (FINISHED_RUN_STATES.has(live.runState)
      ? Math.max(...timeline.tasks.map((t) => t.end ?? 0), live.startedAt ?? 0)
      : now)
  const lastMessage = live.messages.at(-1)

  return (
    <div className="run-page" data-testid="run-page" data-run-id={runId}>
      <RunHeader
        detail={detail}
        live={live}
        counts={counts}
        now={now}
        stream={stream}
        selectedStage={filters.stage || null}
        onChanged={refresh}
      />
      {startWarnings.length ? (
        <div className="run-note run-warnings" data-testid="run-warnings">
          {startWarnings.map((w, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the start's warnings are fixed for the page's life and never reordered; two may read alike
            <div key={i} className="lvl-warn">
              ▲ {w.pool ? `pool ${w.pool}: ` : ''}
              {w.message}
              {w.hint ? <span className="muted"> — {w.hint}</span> : null}
            </div>
          ))}
        </div>
      ) : null}
      <FailureAlert
        runId={runId}
        failed={(counts.failed ?? 0) + (counts.lost ?? 0)}
        onOpenLog={(id, label) => setSelected({ id, label })}
      />
      {lastMessage ? (
        <details className="run-messages">
          <summary>
            {live.messages.length} engine message{live.messages.length === 1 ? '' : 's'}:{' '}
            <span className={`lvl-${lastMessage.level}`}>{lastMessage.message}</span>
          </summary>
          <ul>
            {live.messages.map((m) => (
              <li key={m.id} className={`lvl-${m.level}`}>
                {m.message}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      <div className="run-top">
        <div className="run-graph-box">
          <RunGraph
            plan={plan}
            stageCounts={live.stageCounts}
            selectedStage={filters.stage || null}
            onSelectStage={selectStage}
            groups={groups}
            expanded={expanded}
            onToggleGroup={toggleGroup}
          />
        </div>
        <WorkersPanel
          pools={detail.pools}
          workers={workers}
          tasks={timeline.tasks}
          colors={colors}
          now={now}
          taskStage={stageOfTask}
          onSelectTask={(id) => selectTask(id)}
        />
      </div>
      <StageRows
        groups={groups}
        stageCounts={live.stageCounts}
        expanded={expanded}
        onToggle={toggleGroup}
        selectedStage={filters.stage || null}
        onSelectStage={selectStage}
      />
      <PoolProfile runId={runId} active={active} colors={colors} />
      {detail.run.backend === 'dask' ? <DaskPanel runId={runId} active={active} /> : null}
      <Gantt
        tasks={timeline.tasks}
        workers={ganttWorkers}
        poolOrder={poolOrder}
        colors={colors}
        t0={live.startedAt}
        t1={t1}
        now={now}
        truncated={timeline.truncated}
        reused={timeline.reused}
        selectedTaskId={selected?.id ?? null}
        onSelectTask={(id) => selectTask(id)}
      />
      <HepPanel runId={runId} active={active} tick={finishedTasks} />
      <div className={`run-bottom${selected ? ' has-log' : ''}`}>
        <TaskTable
          runId={runId}
          detail={detail}
          live={live}
          active={active}
          now={now}
          colors={colors}
          filters={filters}
          onFilters={setFilters}
          selectedTaskId={selected?.id ?? null}
          onSelectTask={selectTask}
        />
        {selected ? (
          <TaskLog
            key={selected.id}
            runId={runId}
            taskId={selected.id}
            label={selected.label}
            state={selectedState}
            onClose={() => setSelected(null)}
          />
        ) : null}
      </div>
      <RunLog runId={runId} detail={detail} active={active} />
      {selected ? <TaskJobScript key={selected.id} taskId={selected.id} active={active} /> : null}
    </div>
  )
}
