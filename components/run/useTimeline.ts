'use client'
/**
 * The tasks that started, for the timeline and the workers' utilisation: read in pages of 1,000 from
 * `run.tasks` (sorted by start; at most 10,000), refreshed slowly while the run is active, with the
 * streamed patches laid over them in between (at each tick of the page's clock while the run is
 * active, at once when it is not). Tasks a re-run reused ("reused from run X") ran in the
 * other run: they are counted, not drawn, so the axis spans this run (as the header's duration does).
 */
import { useMemo, useRef } from 'react'
import { useQuery } from '@tanstack/react-query'
import { useTRPCClient } from '~/components/trpc/client'
import { toMs } from './aggregate'
import { type GanttTask, mergeTimeline, TIMELINE_STATES } from './gantt'
import type { LiveState } from './liveState'

const MAX_PAGES = 10

export function useTimeline(
  runId: string,
  live: LiveState | null,
  active: boolean,
  /** the page's clock (useNow): ticks while the run is active */
  now: number,
): { tasks: GanttTask[]; truncated: boolean; loading: boolean; reused: number } {
  const client = useTRPCClient()
  const q = useQuery({
    queryKey: ['controlroom', 'run-timeline', runId],
    queryFn: async () => {
      const out: GanttTask[] = []
      let reused = 0
      let cursor: number | null = 0
      let pages = 0
      while (cursor != null && pages < MAX_PAGES) {
        const res: Awaited<ReturnType<typeof client.run.tasks.query>> = await client.run.tasks.query({
          runId,
          state: [...TIMELINE_STATES],
          sort: 'started',
          withQueued: true,
          cursor,
          limit: 1000,
        })
        for (const t of res.items) {
          const start = toMs(t.startedAt)
          if (start == null) continue
          if (isReused(t.reason)) {
            reused++
            continue
          }
          out.push({
            id: t.id,
            stage: t.stageId,
            pool: t.pool,
            state: t.state,
            workerId: t.workerId,
            queuedAt: toMs(t.queuedAt),
            start,
            end:
              t.state === 'running'
                ? null
                : (toMs(t.finishedAt) ?? (t.durationMs != null ? start + t.durationMs : start)),
          })
        }
        cursor = res.nextCursor
        pages++
      }
      return { tasks: out, truncated: cursor != null, reused }
    },
    staleTime: 0,
    refetchInterval: (query) => (active ? ((query.state.data?.tasks.length ?? 0) > 2000 ? 15_000 : 5_000) : false),
  })
  const fetched = q.data?.tasks
  const patches = live?.tasks
  // while the run is active the streamed patches are laid over at the clock's tick (once a second),
  // not on every batch: the timeline of 10,000 tasks is drawn again once a second, not five times
  const latest = useRef(patches)
  latest.current = patches
  const beat = active ? now : patches
  // biome-ignore lint/correctness/useExhaustiveDependencies: `beat` stands for the patches (see above)
  const tasks = useMemo(() => {
    const p = latest.current
    return mergeTimeline(fetched ?? [], p ? p.values() : [])
  }, [fetched, beat])
  return { tasks, truncated: q.data?.truncated ?? false, loading: q.isLoading, reused: q.data?.reused ?? 0 }
}

/** a task a re-run copied from an earlier run (runs.ts rerunFrom) */
export function isReused(reason: string | null | undefined): boolean {
  return !!reason?.startsWith('reused from run ')
}
