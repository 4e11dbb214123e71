/**
 * The full log of a task as a download (/runs/<runId>/tasks/<taskId>/log): the SAME redacted text
 * the run page shows, because it is read through the page's own reader (readLog, which redacts
 * tokens and PEM blocks and never splits a secret across two chunks), one chunk after another.
 * With `times`, each line starts with the time it was written (an ISO column, then a tab).
 */
import type { Db } from '../db/client.ts'
import { notFound } from '../errors.ts'
import { timedLogText } from '../operations/log-times.ts'
import { readLog } from './runs.ts'

const CHUNK = 1 << 20

export interface LogDownload {
  fileName: string
  body: ReadableStream<Uint8Array>
}

export async function taskLogDownload(
  db: Db,
  input: { runId: string; taskId: string; stream: 'stdout' | 'stderr'; times?: boolean },
): Promise<LogDownload> {
  const task = await db.task.findUnique({
    where: { id: input.taskId },
    select: { runId: true, stageId: true, partitionIndex: true, startedAt: true },
  })
  if (!task || task.runId !== input.runId) throw notFound(`task ${input.taskId} of run ${input.runId} not found`)
  const first = await readLog(db, { taskId: input.taskId, stream: input.stream, offset: 0, limit: CHUNK })
  const end = first.size // a log that is still growing is sent up to its size now
  const fileName =
    `${task.stageId}${task.partitionIndex != null ? `-${task.partitionIndex}` : ''}-${input.taskId}.${input.stream}.log`.replace(
      /[^\w.-]/g,
      '_',
    )
  const encoder = new TextEncoder()
  if (input.times) {
    const taskStart = task.startedAt?.getTime() ?? null
    const parts = timedLogText(db, { taskId: input.taskId, stream: input.stream, from: 0, end, taskStart }, CHUNK)
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const part = await parts.next()
        if (part.done) controller.close()
        else controller.enqueue(encoder.encode(part.value))
      },
    })
    return { fileName: fileName.replace(/\.log$/, '.timed.log'), body }
  }
  let next: typeof first | null = first
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = next
      if (!chunk) return controller.close()
      if (chunk.text) controller.enqueue(encoder.encode(chunk.text))
      const more = chunk.nextOffset < end && chunk.nextOffset > chunk.offset
      next = more
        ? await readLog(db, { taskId: input.taskId, stream: input.stream, offset: chunk.nextOffset, limit: CHUNK })
        : null
      if (!next) controller.close()
    },
  })
  return { fileName, body }
}
