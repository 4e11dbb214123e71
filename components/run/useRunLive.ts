'use client'
/**
 * The live state of one run: `run.get` (snapshot; refetched every few seconds while the run is active,
 * which re-bases the aggregates) + the `/api/events` stream (useEventStream) from the snapshot's last
 * event id. Streamed events go through a batcher (one React update per ≤200 ms) into the pure reducer
 * (liveState.ts). A dropped stream resumes from the last event id received; the reducer drops
 * anything it already has.
 */
import { useEffect, useMemo, useRef, useState } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import { FINISHED_RUN_STATES, toMs } from './aggregate'
import { createEventBatcher, type EventBatcher } from './eventBatcher'
import { applyEvents, initLive, rebase, type LiveEvent, type LiveState, type RunSnapshotInput } from './liveState'
import type { RunDetail } from './types'
import { type StreamStatus, useEventStream } from './useEventStream'

export type { StreamStatus }

export const SNAPSHOT_MS = 3000
export const BATCH_MS = 200

export function toSnapshot(d: RunDetail): RunSnapshotInput {
  const stageCounts: Record<string, Record<string, number>> = {}
  for (const s of d.stages) stageCounts[s.id] = { ...(s.counts as Record<string, number>) }
  return {
    lastEventId: d.lastEventId,
    runState: d.run.state,
    startedAt: toMs(d.run.startedAt),
    finishedAt: toMs(d.run.finishedAt),
    error: d.run.error,
    stageCounts,
    workers: d.pools.flatMap((p) =>
      p.live.map((w) => ({
        id: w.id,
        pool: w.pool,
        state: w.state,
        kind: w.kind,
        batchJobId: w.batchJobId,
        host: w.host,
        pid: w.pid,
        reason: w.reason,
        currentTaskId: w.currentTaskId,
        startedAt: toMs(w.startedAt),
        endedAt: toMs(w.endedAt),
      })),
    ),
  }
}

export interface RunLive {
  detail: RunDetail | undefined
  live: LiveState | null
  error: unknown
  stream: StreamStatus
  streamError: string | null
  /** the run is not finished (or not loaded yet) */
  active: boolean
  refresh(): void
}

export function useRunLive(runId: string): RunLive {
  const trpc = useTRPC()
  const queryClient = useQueryClient()
  const [live, setLive] = useState<LiveState | null>(null)
  const active = live ? !FINISHED_RUN_STATES.has(live.runState) : true

  const snapOpts = trpc.run.get.queryOptions({ runId })
  const snap = useQuery({ ...snapOpts, staleTime: 0, refetchInterval: active ? SNAPSHOT_MS : false })

  useEffect(() => {
    if (!snap.data) return
    const s = toSnapshot(snap.data)
    setLive((prev) => (prev ? rebase(prev, s) : initLive(s)))
  }, [snap.data])

  // the stream starts at the first snapshot and is never restarted by later snapshots
  const [startId, setStartId] = useState<number | null>(null)
  useEffect(() => {
    if (startId == null && snap.data) setStartId(snap.data.lastEventId)
  }, [snap.data, startId])

  const batcher = useRef<EventBatcher<LiveEvent> | null>(null)
  useEffect(() => {
    const b = createEventBatcher<LiveEvent>((evs) => setLive((prev) => (prev ? applyEvents(prev, evs) : prev)), {
      intervalMs: BATCH_MS,
    })
    batcher.current = b
    return () => {
      b.flush()
      b.dispose()
      if (batcher.current === b) batcher.current = null
    }
  }, [])

  const sub = useEventStream({
    runId,
    after: startId == null ? undefined : startId,
    onMessage: ({ events }) => {
      if (events.length) batcher.current?.push(events)
    },
  })

  // a run that just finished: one more snapshot for the final durations / counts
  const runState = live?.runState
  const prevState = useRef(runState)
  useEffect(() => {
    if (prevState.current !== runState && runState && FINISHED_RUN_STATES.has(runState)) {
      void queryClient.invalidateQueries({ queryKey: snapOpts.queryKey })
    }
    prevState.current = runState
  }, [runState, queryClient, snapOpts.queryKey])

  const stream = sub.status
  // biome-ignore lint/correctness/useExhaustiveDependencies: pre-existing: review when this component is next changed
  return useMemo(
    () => ({
      detail: snap.data,
      live,
      error: snap.error,
      stream,
      streamError: sub.error,
      active,
      refresh: () => void snap.refetch(),
    }),
    [snap.data, live, snap.error, stream, sub.error, active],
  )
}

/** a clock that ticks while `on` (durations of running things) */
export function useNow(on: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!on) return
    setNow(Date.now())
    const t = setInterval(() => setNow(Date.now()), ms)
    return () => clearInterval(t)
  }, [on, ms])
  return now
}
