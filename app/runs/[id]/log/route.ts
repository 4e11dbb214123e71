// The run-wide log as one download: /runs/<runId>/log?stage=&pool=&state= (every matching task's
// stdout and stderr, task by task, redacted as on the page: server/execution/run-log.ts).
import { attachmentHeaders, errorResponse, routeHandler } from '~/server/api/http'
import { runLogDownload } from '~/server/execution/run-log'
import { TASK_STATES, type TaskState } from '~/server/execution/types'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

export const GET = routeHandler<{ id: string }>(async ({ url, params, db }) => {
  const sp = url.searchParams
  const state = sp.get('state') || undefined
  if (state && !(TASK_STATES as readonly string[]).includes(state))
    return errorResponse(400, 'BAD_INPUT', `state must be one of ${TASK_STATES.join(', ')}`)
  const filter = {
    runId: params.id,
    stage: sp.get('stage') || undefined,
    pool: sp.get('pool') || undefined,
    state: state as TaskState | undefined,
  }
  const chunks = runLogDownload(db, filter)
  // the first chunk is read here, so a missing run is a 404 and not a broken download
  const first = await chunks.next()
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.done) controller.close()
      else controller.enqueue(encoder.encode(first.value))
    },
    async pull(controller) {
      if (first.done) return
      const next = await chunks.next()
      if (next.done) controller.close()
      else controller.enqueue(encoder.encode(next.value))
    },
    async cancel() {
      await chunks.return(undefined)
    },
  })
  const name = `run-${params.id}${filter.stage ? `-${filter.stage}` : ''}.log`.replace(/[^\w.-]/g, '_')
  return new Response(body, { headers: attachmentHeaders(name, 'text/plain; charset=utf-8') })
})
