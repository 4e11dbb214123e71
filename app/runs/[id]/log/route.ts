// The run-wide log as one download: /runs/<runId>/log?stage=&pool=&state= (every matching task's
// stdout and stderr, task by task, redacted like the page). Access: checked by /proxy.ts and again here.
import { authenticate } from '~/server/auth/core'
import { currentDbUrl, getDb, migrateDatabase } from '~/server/db/client'
import { runLogDownload } from '~/server/execution/run-log'
import { TASK_STATES, type TaskState } from '~/server/execution/types'
import { isDomainError } from '~/server/library/errors'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

const json = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status, headers: { 'cache-control': 'no-store' } })

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const auth = authenticate(req)
  if (!auth.ok) return json(401, 'UNAUTHORIZED', auth.message)
  const { id: runId } = await params
  const sp = new URL(req.url).searchParams
  const state = sp.get('state') || undefined
  if (state && !(TASK_STATES as readonly string[]).includes(state))
    return json(400, 'BAD_INPUT', `state must be one of ${TASK_STATES.join(', ')}`)
  await migrateDatabase(currentDbUrl())
  const db = getDb()
  const filter = {
    runId,
    stage: sp.get('stage') || undefined,
    pool: sp.get('pool') || undefined,
    state: state as TaskState | undefined,
  }
  const chunks = runLogDownload(db, filter)
  let first: IteratorResult<string>
  try {
    first = await chunks.next()
  } catch (e) {
    if (isDomainError(e)) return json(e.domainCode === 'NOT_FOUND' ? 404 : 400, e.domainCode, e.message)
    throw e
  }
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (!first.done) controller.enqueue(encoder.encode(first.value))
      else controller.close()
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
  const name = `run-${runId}${filter.stage ? `-${filter.stage}` : ''}.log`.replace(/[^\w.-]/g, '_')
  return new Response(body, {
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  })
}
