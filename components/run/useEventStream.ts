'use client'
/**
 * The browser's side of `/api/events` (Server-Sent Events of run events, one run or every run): an
 * EventSource from `after`, each message decoded once and handed to `onMessage`. EventSource itself
 * reconnects a dropped stream and sends Last-Event-ID, so the server resumes with no gap and no
 * duplicate; when it gives up (the server answered an error, e.g. while restarting) this hook opens
 * a new one after RETRY_MS from the last id it received.
 */
import { useEffect, useRef, useState } from 'react'
import { decodeStreamMessage, type StreamMessage } from '~/server/execution/stream-message'
import type { LiveEvent } from './liveState'

export type StreamStatus = 'idle' | 'connecting' | 'live' | 'error'

export const RETRY_MS = 3000

export interface EventStreamOptions {
  /** one run, or null for every run */
  runId: string | null
  /** start after this event id; null: from now. The stream opens once this is known (undefined: not yet). */
  after: number | null | undefined
  onMessage(message: StreamMessage<LiveEvent>): void
  /** summary messages: the runs each batch touched and their run-state events (lists of runs) */
  summary?: boolean
  /** the stream (re)opened: what happened while it was closed may be missing from a snapshot */
  onOpen?(): void
}

export function eventStreamUrl(runId: string | null, after: number | null, summary = false): string {
  const qs = new URLSearchParams()
  if (runId) qs.set('run', runId)
  if (summary) qs.set('summary', '1')
  if (after != null) qs.set('after', String(after))
  return `/api/events${qs.size ? `?${qs}` : ''}`
}

export function useEventStream(opts: EventStreamOptions): { status: StreamStatus; error: string | null } {
  const [status, setStatus] = useState<StreamStatus>('idle')
  const [error, setError] = useState<string | null>(null)
  const handlers = useRef(opts)
  handlers.current = opts
  const { runId, after, summary = false } = opts
  const ready = after !== undefined

  useEffect(() => {
    if (!ready) return
    let last: number | null = after ?? null
    let source: EventSource | null = null
    let retry: ReturnType<typeof setTimeout> | null = null
    let closed = false
    const open = () => {
      setStatus('connecting')
      const es = new EventSource(eventStreamUrl(runId, last, summary))
      source = es
      es.onopen = () => {
        setStatus('live')
        setError(null)
        handlers.current.onOpen?.()
      }
      es.onmessage = (ev: MessageEvent<string>) => {
        const message = decodeStreamMessage<LiveEvent>({ json: ev.data })
        if (ev.lastEventId) last = Number(ev.lastEventId)
        handlers.current.onMessage(message)
      }
      es.onerror = () => {
        if (es.readyState !== EventSource.CLOSED) {
          setStatus('connecting') // EventSource reconnects by itself
          return
        }
        es.close()
        if (closed) return
        setStatus('error')
        setError('the live event stream closed; reconnecting')
        retry = setTimeout(open, RETRY_MS)
      }
    }
    open()
    return () => {
      closed = true
      if (retry) clearTimeout(retry)
      source?.close()
      setStatus('idle')
    }
  }, [runId, after, ready, summary])

  return { status, error }
}
