/**
 * A minimal reader of the live event stream over real HTTP (Server-Sent Events), for the
 * integration tests and the bench: Node 20 has no EventSource. Either transport: `/api/events` (the
 * route the UI uses: one encoded frame per batch for every viewer) or tRPC's `run.events` (as
 * httpSubscriptionLink receives it). Each received message is decoded and handed to `onMessage`
 * with the time it arrived.
 */
import superjson from 'superjson'
import { decodeStreamMessage, type EncodedStreamMessage, type StreamMessage } from './stream-message.ts'

export interface SseSubscription {
  /** resolves when the stream ends (closed by the server, aborted, or failed: `error`) */
  done: Promise<void>
  error: Error | null
  close(): void
}

export interface SseOptions {
  baseUrl: string
  runId: string | null
  lastEventId?: number | null
  /** /api/events only: summary messages (the runs each batch touched, their run states) */
  summary?: boolean
  /** 'events' (default): /api/events; 'trpc': /api/trpc/run.events */
  transport?: 'events' | 'trpc'
  headers?: Record<string, string>
  onMessage(message: StreamMessage, receivedAt: number, trackedId: string | null): void
}

export function subscribeOverHttp(opts: SseOptions): SseSubscription {
  const ctrl = new AbortController()
  const trpc = opts.transport === 'trpc'
  const url = trpc ? trpcUrl(opts) : eventsUrl(opts)
  const sub: SseSubscription = { error: null, close: () => ctrl.abort(), done: Promise.resolve() }
  sub.done = (async () => {
    try {
      const res = await fetch(url, {
        headers: { accept: 'text/event-stream', ...opts.headers },
        signal: ctrl.signal,
      })
      if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`)
      const decoder = new TextDecoder()
      let buf = ''
      let id: string | null = null
      let event = 'message'
      let data: string[] = []
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true })
        let nl = buf.indexOf('\n')
        while (nl >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '')
          buf = buf.slice(nl + 1)
          nl = buf.indexOf('\n')
          if (line === '') {
            if (data.length && event === 'message') {
              const json = trpc
                ? (JSON.parse(data.join('\n')) as { json: EncodedStreamMessage }).json
                : { json: data.join('\n') }
              opts.onMessage(decodeStreamMessage(json), Date.now(), id)
            } else if (event === 'serialized-error') throw new Error(`run.events failed: ${data.join('\n')}`)
            id = null
            event = 'message'
            data = []
          } else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
          else if (line.startsWith('id:')) id = line.slice(3).trim()
          else if (line.startsWith('event:')) event = line.slice(6).trim()
        }
      }
    } catch (e) {
      if (!ctrl.signal.aborted) sub.error = e as Error
    }
  })()
  return sub
}

function eventsUrl(opts: SseOptions): string {
  const qs = new URLSearchParams()
  if (opts.runId) qs.set('run', opts.runId)
  if (opts.summary) qs.set('summary', '1')
  if (opts.lastEventId != null) qs.set('after', String(opts.lastEventId))
  return `${opts.baseUrl}/api/events${qs.size ? `?${qs}` : ''}`
}

function trpcUrl(opts: SseOptions): string {
  const input = superjson.serialize({
    runId: opts.runId,
    ...(opts.lastEventId != null ? { lastEventId: String(opts.lastEventId) } : {}),
  })
  return `${opts.baseUrl}/api/trpc/run.events?input=${encodeURIComponent(JSON.stringify(input))}`
}
