// Full log of a task as a download: /runs/<runId>/tasks/<taskId>/log?stream=stdout|stderr[&times=1]
// (times=1: each line starts with the ISO time it was written, then a tab)
// The same redacted text as the run page (server/execution/log-download.ts).
import { attachmentHeaders, errorResponse, routeHandler } from '~/server/api/http'
import { taskLogDownload } from '~/server/execution/log-download'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

export const GET = routeHandler<{ id: string; taskId: string }>(async ({ url, params, db }) => {
  const stream = url.searchParams.get('stream') ?? 'stdout'
  if (stream !== 'stdout' && stream !== 'stderr')
    return errorResponse(400, 'BAD_INPUT', 'stream must be stdout or stderr')
  const log = await taskLogDownload(db, {
    runId: params.id,
    taskId: params.taskId,
    stream,
    times: url.searchParams.get('times') === '1',
  })
  return new Response(log.body, { headers: attachmentHeaders(log.fileName, 'text/plain; charset=utf-8') })
})
