/**
 * The run-wide log: every task's stdout and stderr lines with the task, stage, partition, pool,
 * state and a time, for the run page's log view (`run.logLines`) and as one download
 * (/runs/<id>/log). Read through `run.log`'s own reader (readLog), so the text is redacted exactly
 * as the task log on the page is (tokens, PEM blocks, also a block cut by a chunk's start).
 *
 * Times: commands write straight to the log files, so lines carry no time of their own. A line is
 * stamped with the start of the attempt that wrote it (the runtime's `--- controlroom: attempt N at
 * <time> ---` marker, else the task's start); the view says so.
 *
 * Bounded: tasks are read a page at a time (TASKS_PER_PAGE, in start order), the last
 * TAIL_BYTES of each stream of each task, at most MAX_LINES lines per page. Filtering by a regular
 * expression happens in the browser over these lines: a hostile pattern can only stall the tab of
 * whoever typed it, never the server.
 */
import type { Db } from '../db/client.ts'
import { notFound } from '../errors.ts'
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
  /** ms since epoch: the start of the attempt that wrote the line */
  at: number | null
  text: string
}

const MARKER = /^--- controlroom: attempt (\d+) at (\S+) ---$/

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

/** the last `max` bytes of a task's log, redacted (from a line start when cut) */
async function readTail(db: Db, taskId: string, stream: 'stdout' | 'stderr', max: number) {
  const chunk = await readLog(db, { taskId, stream, tail: true, limit: max })
  let text = chunk.text
  const cut = chunk.offset > 0
  if (cut) text = text.slice(text.indexOf('\n') + 1)
  return { text, cut }
}

/** splits a log into lines stamped with the attempt that wrote them */
export function stampLines(text: string, taskStart: number | null): { at: number | null; text: string }[] {
  const out: { at: number | null; text: string }[] = []
  let at = taskStart
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  for (const line of lines) {
    const m = MARKER.exec(line)
    if (m) {
      const t = Date.parse(m[2]!)
      if (Number.isFinite(t)) at = t
    }
    out.push({ at, text: line })
  }
  return out
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
  const lines: RunLogLine[] = []
  let truncated = false
  for (const t of tasks) {
    for (const stream of ['stdout', 'stderr'] as const) {
      const { text, cut } = await readTail(db, t.id, stream, TAIL_BYTES)
      if (cut) truncated = true
      if (!text) continue
      for (const l of stampLines(text, t.startedAt?.getTime() ?? null)) {
        if (lines.length >= MAX_LINES) {
          truncated = true
          break
        }
        lines.push({
          taskId: t.id,
          stage: t.stageId,
          partition: t.partitionKey ?? (t.partitionIndex != null ? `#${t.partitionIndex}` : null),
          pool: t.pool,
          state: t.state,
          stream,
          at: l.at,
          text: l.text,
        })
      }
    }
  }
  // within a page: by time, a task's lines together, stdout before stderr
  lines.sort((a, b) => (a.at ?? 0) - (b.at ?? 0))
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
      select: { id: true, stageId: true, partitionKey: true, partitionIndex: true, pool: true, state: true },
    })
    for (const t of tasks) {
      const part = t.partitionKey ?? (t.partitionIndex != null ? `#${t.partitionIndex}` : '')
      for (const stream of ['stdout', 'stderr'] as const) {
        let chunk = await readLog(db, { taskId: t.id, stream, offset: 0, limit: 1 })
        if (chunk.size === 0) continue
        const end = chunk.size // a growing log is sent up to its size now
        const from = Math.max(0, end - DOWNLOAD_FILE_BYTES)
        yield `===== ${t.stageId}${part ? ` ${part}` : ''} · task ${t.id} · pool ${t.pool} · ${t.state} · ${stream}${from > 0 ? ' (its last 8 MiB)' : ''} =====\n`
        let at = from
        let last = ''
        while (at < end) {
          chunk = await readLog(db, { taskId: t.id, stream, offset: at, limit: Math.min(CHUNK_BYTES, end - at) })
          if (chunk.nextOffset <= at) break
          if (chunk.text) yield chunk.text
          last = chunk.text || last
          at = chunk.nextOffset
        }
        if (!last.endsWith('\n')) yield '\n'
      }
    }
    if (tasks.length < TASKS_PER_PAGE) return
  }
}
