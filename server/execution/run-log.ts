/**
 * The run-wide log: every task's stdout and stderr lines with the task, stage, partition, pool,
 * state and a time, for the run page's log view (`run.logLines`) and as one download
 * (/runs/<id>/log). Read through `run.log`'s own reader (readLog), so the text is redacted exactly
 * as the task log on the page is (tokens, PEM blocks, also a block cut by a chunk's start).
 *
 * Times: the task runtime records when each chunk of output arrived (log-times.tsv beside the
 * logs, read by server/operations/log-times.ts); a line takes its chunk's time, and stdout and
 * stderr lines of a task interleave as they were written. Logs without that index fall back to the
 * start of the attempt that wrote them. The download has the time as an ISO column.
 *
 * Bounded: tasks are read a page at a time (TASKS_PER_PAGE, in start order), the last
 * TAIL_BYTES of each stream of each task, at most MAX_LINES lines per page. Filtering by a regular
 * expression happens in the browser over these lines: a hostile pattern can only stall the tab of
 * whoever typed it, never the server.
 */
import type { Db } from '../db/client.ts'
import { notFound } from '../errors.ts'
import { readTimedLog, timedLogText } from '../operations/log-times.ts'
import { readLog } from './runs.ts'
import type { TaskState } from './types.ts'

export const TASKS_PER_PAGE = 200
export const TAIL_BYTES = 32 * 1024
export const MAX_LINES = 20_000
/** the download sends at most this much of each log file (its end) */
export const DOWNLOAD_FILE_BYTES = 8 * 1024 * 1024
const CHUNK_BYTES = 1 << 20

export interface RunLogFilter {
  runId: string
  stage?: string
  pool?: string
  state?: TaskState | TaskState[]
}

export interface RunLogLine {
  taskId: string
  stage: string
  partition: string | null
  pool: string
  state: string
  stream: 'stdout' | 'stderr'
  /** ms since epoch: when the line was written (else the start of the attempt that wrote it) */
  at: number | null
  text: string
}

/** a line with its order keys: time, then its task's place on the page, then write order */
interface Keyed extends RunLogLine {
  k: [number, number, number, number, number]
}

function where(f: RunLogFilter) {
  return {
    runId: f.runId,
    ...(f.state ? { state: Array.isArray(f.state) ? { in: f.state } : f.state } : {}),
    ...(f.pool ? { pool: f.pool } : {}),
    ...(f.stage ? { stageId: f.stage } : {}),
  }
}

async function assertRun(db: Db, runId: string): Promise<void> {
  const run = await db.run.findUnique({ where: { id: runId }, select: { runDir: true } })
  if (!run) throw notFound(`run ${runId} not found`)
  if (!run.runDir) throw notFound(`run ${runId} has no run directory`)
}

/** the last `max` bytes of a task's log as timed lines, redacted (from a line start when cut) */
async function readTail(db: Db, taskId: string, stream: 'stdout' | 'stderr', max: number, taskStart: number | null) {
  const chunk = await readTimedLog(db, { taskId, stream, tail: true, limit: max }, { taskStart })
  const cut = chunk.offset > 0
  return { lines: chunk.continues ? chunk.lines.slice(1) : chunk.lines, cut }
}

/** one page of tasks' lines (tasks in start order, then plan order) */
export async function readRunLogLines(db: Db, input: RunLogFilter & { cursor?: number | null }) {
  await assertRun(db, input.runId)
  const offset = Math.max(0, input.cursor ?? 0)
  const [tasks, total] = await Promise.all([
    db.task.findMany({
      where: where(input),
      orderBy: [{ startedAt: 'asc' }, { createdAt: 'asc' }, { partitionIndex: 'asc' }, { id: 'asc' }],
      skip: offset,
      take: TASKS_PER_PAGE,
      select: {
        id: true,
        stageId: true,
        partitionKey: true,
        partitionIndex: true,
        pool: true,
        state: true,
        startedAt: true,
      },
    }),
    db.task.count({ where: where(input) }),
  ])
  const keyed: Keyed[] = []
  let truncated = false
  for (const [place, t] of tasks.entries()) {
    for (const [rank, stream] of (['stdout', 'stderr'] as const).entries()) {
      const { lines: timed, cut } = await readTail(db, t.id, stream, TAIL_BYTES, t.startedAt?.getTime() ?? null)
      if (cut) truncated = true
      for (const l of timed) {
        if (keyed.length >= MAX_LINES) {
          truncated = true
          break
        }
        keyed.push({
          taskId: t.id,
          stage: t.stageId,
          partition: t.partitionKey ?? (t.partitionIndex != null ? `#${t.partitionIndex}` : null),
          pool: t.pool,
          state: t.state,
          stream,
          at: l.at,
          text: l.text,
          k: [l.at ?? 0, place, l.seq, rank, l.byte],
        })
      }
    }
  }
  // by time; within a task and millisecond, in the order written (stdout and stderr interleaved)
  keyed.sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.k[2] - b.k[2] || a.k[3] - b.k[3] || a.k[4] - b.k[4])
  const lines: RunLogLine[] = keyed.map(({ k: _k, ...l }) => l)
  return {
    lines,
    tasks: tasks.length,
    total,
    nextCursor: offset + tasks.length < total ? offset + tasks.length : null,
    truncated,
  }
}

/**
 * The whole run's log as one text, task by task (a header line per task and stream), read in 1 MiB
 * chunks through readLog (redacted as on the page); a file larger than DOWNLOAD_FILE_BYTES is sent
 * from its last DOWNLOAD_FILE_BYTES, with a note.
 */
export async function* runLogDownload(db: Db, filter: RunLogFilter): AsyncGenerator<string> {
  await assertRun(db, filter.runId)
  for (let offset = 0; ; offset += TASKS_PER_PAGE) {
    const tasks = await db.task.findMany({
      where: where(filter),
      orderBy: [{ startedAt: 'asc' }, { createdAt: 'asc' }, { partitionIndex: 'asc' }, { id: 'asc' }],
      skip: offset,
      take: TASKS_PER_PAGE,
      select: {
        id: true,
        stageId: true,
        partitionKey: true,
        partitionIndex: true,
        pool: true,
        state: true,
        startedAt: true,
      },
    })
    for (const t of tasks) {
      const part = t.partitionKey ?? (t.partitionIndex != null ? `#${t.partitionIndex}` : '')
      for (const stream of ['stdout', 'stderr'] as const) {
        const head = await readLog(db, { taskId: t.id, stream, offset: 0, limit: 1 })
        if (head.size === 0) continue
        const end = head.size // a growing log is sent up to its size now
        const from = Math.max(0, end - DOWNLOAD_FILE_BYTES)
        yield `===== ${t.stageId}${part ? ` ${part}` : ''} · task ${t.id} · pool ${t.pool} · ${t.state} · ${stream}${from > 0 ? ' (its last 8 MiB)' : ''} =====\n`
        const taskStart = t.startedAt?.getTime() ?? null
        yield* timedLogText(db, { taskId: t.id, stream, from, end, taskStart }, CHUNK_BYTES)
      }
    }
    if (tasks.length < TASKS_PER_PAGE) return
  }
}
