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
      const lines = new SseLineReader()
      let id: string | null = null
      let event = 'message'
      let data: string[] = []
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        for (const line of lines.push(chunk)) {
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

/**
 * Splits a byte stream into lines in time linear in its size: only the new chunk is searched for a
 * line end, and a line that spans many chunks is joined once. (Searching and slicing the whole
 * buffer on every chunk is quadratic in a line's length, and one message of a big burst is a line
 * of megabytes, decoded here once per viewer.)
 */
export class SseLineReader {
  private readonly decoder = new TextDecoder()
  /** the pieces of the line not yet ended */
  private pending: string[] = []

  /** the lines this chunk ends (without their line end), in order */
  push(chunk: Uint8Array): string[] {
    const text = this.decoder.decode(chunk, { stream: true })
    const out: string[] = []
    let start = 0
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      this.pending.push(text.slice(start, nl))
      const line = this.pending.length === 1 ? this.pending[0]! : this.pending.join('')
      this.pending = []
      out.push(line.endsWith('\r') ? line.slice(0, -1) : line)
      start = nl + 1
    }
    if (start < text.length) this.pending.push(text.slice(start))
    return out
  }
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
