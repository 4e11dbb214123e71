// Full log of a task as a download: /runs/<runId>/tasks/<taskId>/log?stream=stdout|stderr
// Access: checked by /proxy.ts and again here (like every route handler).
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { authenticate } from '~/server/auth/core'
import { currentDbUrl, getDb, migrateDatabase } from '~/server/db/client'
import { logFilePath } from '~/server/execution/runs'
import { isDomainError } from '~/server/errors'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

const json = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status, headers: { 'cache-control': 'no-store' } })

export async function GET(req: Request, { params }: { params: Promise<{ id: string; taskId: string }> }) {
  const auth = authenticate(req)
  if (!auth.ok) return json(401, 'UNAUTHORIZED', auth.message)
  const { id: runId, taskId } = await params
  const stream = new URL(req.url).searchParams.get('stream') ?? 'stdout'
  if (stream !== 'stdout' && stream !== 'stderr') return json(400, 'BAD_INPUT', 'stream must be stdout or stderr')
  await migrateDatabase(currentDbUrl())
  const db = getDb()
  const task = await db.task.findUnique({
    where: { id: taskId },
    select: { runId: true, stageId: true, partitionIndex: true, attempt: true },
  })
  if (!task || task.runId !== runId) return json(404, 'NOT_FOUND', `task ${taskId} of run ${runId} not found`)
  let file: string
  try {
    file = await logFilePath(db, taskId, stream)
  } catch (e) {
    if (isDomainError(e)) return json(e.domainCode === 'NOT_FOUND' ? 404 : 400, e.domainCode, e.message)
    throw e
  }
  const name =
    `${task.stageId}${task.partitionIndex != null ? `-${task.partitionIndex}` : ''}-${taskId}.${stream}.log`.replace(
      /[^\w.-]/g,
      '_',
    )
  const headers = {
    'content-type': 'text/plain; charset=utf-8',
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  }
  let size: number
  try {
    size = (await stat(file)).size
  } catch {
    // not written yet (the task has not started): an empty log
    return new Response('', { headers: { ...headers, 'content-length': '0' } })
  }
  if (size === 0) return new Response('', { headers: { ...headers, 'content-length': '0' } })
  // a log that is still growing is sent up to its size now
  const body = Readable.toWeb(createReadStream(file, { start: 0, end: size - 1 })) as ReadableStream<Uint8Array>
  return new Response(body, { headers: { ...headers, 'content-length': String(size) } })
}
