// Live run events as Server-Sent Events: /api/events?run=<runId>&after=<eventId> (no `run`: every
// run; `summary=1`: per batch only the runs it touched and their run-state changes, for lists). Each batch read from the store is encoded once and the same bytes are written to every
// viewer (server/execution/stream.ts). A reconnecting EventSource sends Last-Event-ID and resumes
// after it with no gap and no duplicate. The access check and the Host allow-list run in /proxy.ts
// and again here (routeHandler, hostProblem).
import { errorResponse, routeHandler } from '~/server/api/http'
import { hostProblem } from '~/server/auth/hosts'
import { sseRunEvents } from '~/server/execution/stream'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

const EVENT_ID = /^\d{1,15}$/
const RUN_ID = /^[\w-]{1,100}$/

const authenticated = routeHandler<Record<string, never>>(async ({ req, url, db }) => {
  const run = url.searchParams.get('run')
  if (run !== null && !RUN_ID.test(run))
    return errorResponse(400, 'BAD_INPUT', 'run must be a run id (letters, digits, "-" and "_", at most 100)')
  // EventSource's own reconnect names the last event it received: newer than the page's `after`
  const after = req.headers.get('last-event-id') || url.searchParams.get('after')
  if (after !== null && after !== '' && !EVENT_ID.test(after))
    return errorResponse(
      400,
      'BAD_INPUT',
      `after / Last-Event-ID must be an event id (digits), not "${after.slice(0, 40)}"`,
    )
  const body = sseRunEvents(db, {
    runId: run,
    lastEventId: after ? Number(after) : null,
    signal: req.signal,
    summary: url.searchParams.get('summary') === '1',
  })
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    },
  })
})

export function GET(req: Request, route: { params: Promise<Record<string, never>> }): Promise<Response> {
  const problem = hostProblem(req.headers.get('host'))
  if (problem) return Promise.resolve(errorResponse(421, 'MISDIRECTED', problem))
  return authenticated(req, route)
}
