/**
 * Per-line times of a task's log, read from the index the task runtime writes beside it
 * (server/execution/runtime/log-times.mjs: `log-times.tsv`, one `<o|e> <byte offset> <epoch ms>`
 * per chunk, in arrival order). A line takes the time of the chunk its first byte arrived in, and an
 * order key (the chunk's place in the index) that interleaves stdout and stderr as written.
 *
 * The text itself is always the redacted text of readLog (the page's own reader): times are matched
 * to its lines by the raw lines' byte offsets. Redaction can merge lines (a PEM block becomes one
 * `[REDACTED …]`); a merged line takes its first raw line's time. A log written before the index
 * existed (or whose index could not be written) falls back to the attempt's start: the runtime's
 * `--- controlroom: attempt N at <time> ---` marker, else the task's start.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { redactSecrets } from '../credentials/redact.ts'
import type { Db } from '../db/client.ts'
import { type LogInput, logFilePath, readLog } from '../execution/runs.ts'
import { openTaskFile } from '../execution/task-file.ts'

export const LOG_TIMES_FILE = 'log-times.tsv'
const MARKER = /^--- controlroom: attempt \d+ at (\S+) ---$/
/** an index larger than this is read from its end (the lines shown are the log's end too) */
const MAX_INDEX_BYTES = 8 * 1024 * 1024

type Stream = 'stdout' | 'stderr'

/** one stream's chunks: byte offsets (ascending), their times and their place in the index */
interface StreamTimes {
  off: number[]
  ms: number[]
  seq: number[]
}
export type LogTimeIndex = Record<Stream, StreamTimes>

export function parseLogTimes(text: string): LogTimeIndex {
  const idx: LogTimeIndex = { stdout: { off: [], ms: [], seq: [] }, stderr: { off: [], ms: [], seq: [] } }
  let seq = 0
  for (const line of text.split('\n')) {
    const m = /^([oe]) (\d+) (\d+)$/.exec(line)
    if (!m) continue
    const s = idx[m[1] === 'e' ? 'stderr' : 'stdout']
    const off = Number(m[2])
    // the log was truncated or replaced: what came before no longer maps to its bytes
    if (s.off.length && off < s.off[s.off.length - 1]!) {
      s.off.length = 0
      s.ms.length = 0
      s.seq.length = 0
    }
    s.off.push(off)
    s.ms.push(Number(m[3]))
    s.seq.push(seq++)
  }
  return idx
}

export async function readLogTimes(taskDir: string, ownerUid: number | null = null): Promise<LogTimeIndex | null> {
  const file = path.join(taskDir, LOG_TIMES_FILE)
  try {
    // users mode: the task's directory is its OS user's: a link planted there is not followed
    const fh = await openTaskFile(file, ownerUid)
    if (!fh) return null
    try {
      const size = (await fh.stat()).size
      if (size <= MAX_INDEX_BYTES) return parseLogTimes(await readFile(fh, 'utf8'))
      const buf = Buffer.alloc(MAX_INDEX_BYTES)
      await fh.read(buf, 0, MAX_INDEX_BYTES, size - MAX_INDEX_BYTES)
      const text = buf.toString('utf8')
      return parseLogTimes(text.slice(text.indexOf('\n') + 1))
    } finally {
      await fh.close()
    }
  } catch {
    return null
  }
}

/** the chunk a byte of a stream arrived in: its time and index place, or null when not recorded */
export function timeAt(idx: LogTimeIndex | null, stream: Stream, byte: number): { ms: number; seq: number } | null {
  const s = idx?.[stream]
  if (!s || s.off.length === 0 || byte < s.off[0]!) return null
  let lo = 0
  let hi = s.off.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (s.off[mid]! <= byte) lo = mid
    else hi = mid - 1
  }
  return { ms: s.ms[lo]!, seq: s.seq[lo]! }
}

export interface TimedLine {
  /** the redacted text of the line (without its newline) */
  text: string
  /** ms since epoch, or null when neither the index nor a marker nor the task's start says */
  at: number | null
  /** order within the task (the index place of the line's chunk; -1 when not recorded) */
  seq: number
  /** byte offset of the line's start in its log */
  byte: number
}

export interface TimedChunk {
  /** the chunk's redacted text, exactly as readLog gives it */
  text: string
  path: string
  lines: TimedLine[]
  /** the chunk's first line continues a line begun in the previous chunk */
  continues: boolean
  /** the chunk's last line has no newline yet */
  open: boolean
  offset: number
  nextOffset: number
  size: number
  eof: boolean
  done: boolean
}

/** the byte offset of each line start in `raw` (a chunk of the log from `offset`) */
function lineStarts(raw: Buffer, offset: number): number[] {
  const starts = [offset]
  for (let i = raw.indexOf(10); i >= 0 && i < raw.length - 1; i = raw.indexOf(10, i + 1)) starts.push(offset + i + 1)
  return starts
}

/**
 * Times for the redacted lines of a chunk: raw line i and redacted line i are the same line unless
 * redaction merged lines; then each redacted line is matched to the next raw line that redacts to it.
 */
export function alignTimes(
  rawLines: string[],
  redacted: string[],
  timeOf: (rawIndex: number) => TimedLine,
): TimedLine[] {
  if (rawLines.length === redacted.length) return redacted.map((text, i) => ({ ...timeOf(i), text }))
  const out: TimedLine[] = []
  let i = 0
  for (let j = 0; j < redacted.length; j++) {
    const here = Math.min(i, rawLines.length - 1)
    out.push({ ...timeOf(here), text: redacted[j]! })
    const next = redacted[j + 1]
    i = here + 1
    if (next === undefined) break
    // skip the raw lines this one swallowed
    let k = i
    while (k < rawLines.length && redactSecrets(rawLines[k]!) !== next) k++
    if (k < rawLines.length) i = k
  }
  return out
}

/** a chunk of a task's log (readLog: redacted) as lines with their times */
export async function readTimedLog(
  db: Db,
  input: LogInput,
  fallback: { taskStart: number | null; lastAt?: number | null } = { taskStart: null },
): Promise<TimedChunk> {
  const chunk = await readLog(db, input)
  if (chunk.size === 0) return { ...chunk, lines: [], continues: false, open: false }
  const { file, ownerUid } = await logFilePath(db, input.taskId, input.stream)
  const raw = Buffer.alloc(chunk.nextOffset - chunk.offset)
  let before = 10 // a newline: the chunk starts a line
  if (raw.length > 0 || chunk.offset > 0) {
    // the file readLog read, opened the same way (users mode: a link planted there is not followed)
    const fh = await openTaskFile(file, ownerUid)
    if (!fh) return { ...chunk, lines: [], continues: false, open: false }
    try {
      await fh.read(raw, 0, raw.length, chunk.offset)
      if (chunk.offset > 0) {
        const one = Buffer.alloc(1)
        await fh.read(one, 0, 1, chunk.offset - 1)
        before = one[0]!
      }
    } finally {
      await fh.close()
    }
  }
  const idx = await readLogTimes(path.dirname(file), ownerUid)
  const starts = lineStarts(raw, chunk.offset)
  const rawText = raw.toString('utf8')
  const open_ = rawText.length > 0 && !rawText.endsWith('\n')
  const rawLines = rawText.split('\n')
  if (!open_) rawLines.pop()
  const text = chunk.text
  const redacted = text.split('\n')
  if (text.endsWith('\n') || text === '') redacted.pop()
  // the attempt-start fallback walks forward from the task's start through the markers
  let attemptAt = fallback.lastAt ?? fallback.taskStart
  const timeOf = (i: number): TimedLine => {
    const byte = starts[i] ?? chunk.offset
    const m = MARKER.exec(rawLines[i] ?? '')
    if (m) {
      const t = Date.parse(m[1]!)
      if (Number.isFinite(t)) attemptAt = t
      return { text: '', at: attemptAt, seq: timeAt(idx, input.stream, byte)?.seq ?? -1, byte }
    }
    const hit = timeAt(idx, input.stream, byte)
    return hit ? { text: '', at: hit.ms, seq: hit.seq, byte } : { text: '', at: attemptAt, seq: -1, byte }
  }
  return {
    text,
    path: chunk.path,
    lines: alignTimes(rawLines, redacted, timeOf),
    continues: chunk.offset > 0 && before !== 10,
    open: open_,
    offset: chunk.offset,
    nextOffset: chunk.nextOffset,
    size: chunk.size,
    eof: chunk.eof,
    done: chunk.done,
  }
}

/** "2026-12-07T06:14:36.123Z\t" for a line's time column (blank when unknown) */
export function isoColumn(at: number | null): string {
  return `${at == null ? ''.padEnd(24) : new Date(at).toISOString()}\t`
}

/**
 * A task log's bytes [from, end) as text with an ISO time column, read a chunk at a time through
 * readTimedLog (redacted as on the page). A line split across two chunks is one line of the output.
 */
export async function* timedLogText(
  db: Db,
  input: { taskId: string; stream: Stream; from: number; end: number; taskStart: number | null },
  chunkBytes = 1 << 20,
): AsyncGenerator<string> {
  let at = input.from
  let lastAt: number | null = null
  let midLine = false
  while (at < input.end) {
    const chunk = await readTimedLog(
      db,
      { taskId: input.taskId, stream: input.stream, offset: at, limit: Math.min(chunkBytes, input.end - at) },
      { taskStart: input.taskStart, lastAt },
    )
    if (chunk.nextOffset <= at) break
    let out = ''
    chunk.lines.forEach((l, i) => {
      const last = i === chunk.lines.length - 1
      out += `${i === 0 && midLine ? '' : isoColumn(l.at)}${l.text}${last && chunk.open ? '' : '\n'}`
      if (l.at != null) lastAt = l.at
    })
    midLine = chunk.open
    if (out) yield out
    at = chunk.nextOffset
  }
  if (midLine) yield '\n'
}
