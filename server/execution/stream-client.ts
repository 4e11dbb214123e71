/**
 * A minimal reader of `run.events` over real HTTP (Server-Sent Events, as tRPC's
 * httpSubscriptionLink receives them), for the integration test and the bench: Node 20 has no
 * EventSource. Each received message is decoded and handed to `onMessage` with the time it arrived.
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
  headers?: Record<string, string>
  onMessage(message: StreamMessage, receivedAt: number, trackedId: string | null): void
}

export function subscribeOverHttp(opts: SseOptions): SseSubscription {
  const ctrl = new AbortController()
  const input = superjson.serialize({
    runId: opts.runId,
    ...(opts.lastEventId != null ? { lastEventId: String(opts.lastEventId) } : {}),
  })
  const url = `${opts.baseUrl}/api/trpc/run.events?input=${encodeURIComponent(JSON.stringify(input))}`
  const sub: SseSubscription = { error: null, close: () => ctrl.abort(), done: Promise.resolve() }
  sub.done = (async () => {
    try {
      const res = await fetch(url, {
        headers: { accept: 'text/event-stream', ...opts.headers },
        signal: ctrl.signal,
      })
      if (!res.ok || !res.body) throw new Error(`run.events: HTTP ${res.status} ${await res.text()}`)
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
              const body = JSON.parse(data.join('\n')) as { json: EncodedStreamMessage }
              opts.onMessage(decodeStreamMessage(body.json), Date.now(), id)
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
