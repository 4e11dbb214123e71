'use client'
/**
 * The live state of one run: `run.get` (snapshot; re-read while the run is active, which re-bases the
 * aggregates: every SNAPSHOT_MS, or SNAPSHOT_LIVE_MS while the stream is live, so 20 viewers of a big
 * run do not each re-read it every few seconds) + the `/api/events` stream (useEventStream) from the snapshot's last
 * event id. Streamed events go through a batcher (one React update per ≤200 ms, rendered as a
 * transition, the next one only once it is committed) into the pure reducer (liveState.ts). A dropped stream resumes from the last event id received; the reducer drops
 * anything it already has.
 */
import { startTransition, useEffect, useMemo, useRef, useState } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import { FINISHED_RUN_STATES, toMs } from './aggregate'
import { createEventBatcher, type EventBatcher } from './eventBatcher'
import { applyEvents, initLive, rebase, type LiveEvent, type LiveState, type RunSnapshotInput } from './liveState'
import type { RunDetail } from './types'
import { type StreamStatus, useEventStream } from './useEventStream'

export type { StreamStatus }

/** the snapshot is re-read this often while the run is active and the stream is not live */
export const SNAPSHOT_MS = 3000
/** … and this often while the stream is live (it carries every event; the snapshot only re-bases) */
export const SNAPSHOT_LIVE_MS = 20_000
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
  const streamLive = useRef(false)
  const snap = useQuery({
    ...snapOpts,
    staleTime: 0,
    refetchInterval: () => (active ? (streamLive.current ? SNAPSHOT_LIVE_MS : SNAPSHOT_MS) : false),
  })

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

  // Each batch is rendered as a transition: React renders it in slices and lets the browser paint
  // in between, so a page of 10,000 tasks keeps its frame rate while thousands of events arrive.
  // The batcher holds what comes next until that render is committed (`applied`): a page slower
  // than BATCH_MS gets fewer, larger batches, never a queue of renders (nor a transition that
  // keeps restarting because the next batch arrived before it finished).
  const batcher = useRef<EventBatcher<LiveEvent> | null>(null)
  const [applied, setApplied] = useState(0)
  useEffect(() => {
    const b = createEventBatcher<LiveEvent>(
      (evs) => {
        b.hold()
        startTransition(() => {
          setLive((prev) => (prev ? applyEvents(prev, evs) : prev))
          setApplied((n) => n + 1)
        })
      },
      { intervalMs: BATCH_MS },
    )
    batcher.current = b
    return () => {
      b.dispose()
      if (batcher.current === b) batcher.current = null
    }
  }, [])
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs after each committed batch
  useEffect(() => batcher.current?.release(), [applied])

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
  streamLive.current = stream === 'live'
  const { refetch } = snap
  return useMemo(
    () => ({
      detail: snap.data,
      live,
      error: snap.error,
      stream,
      streamError: sub.error,
      active,
      refresh: () => void refetch(),
    }),
    [snap.data, live, snap.error, stream, sub.error, active, refetch],
  )
}

/** a clock that ticks while `on` (durations of running things) */
export function useNow(on: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!on) return
    setNow(Date.now())
    // a transition: the clock re-renders durations across the page, never at the cost of a frame
    const t = setInterval(() => startTransition(() => setNow(Date.now())), ms)
    return () => clearInterval(t)
  }, [on, ms])
  return now
}
