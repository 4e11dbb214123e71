// Control Room: a time for every line a task writes, without touching the log itself.
//
// The task's stdout.log / stderr.log stay byte-for-byte what the command wrote. Beside them,
// `log-times.tsv` records when each chunk arrived: one line `<o|e> <byte offset> <epoch ms>` per
// chunk, in arrival order (so stdout and stderr lines can be interleaved as they were written). A
// line of a log takes the time of the chunk its first byte arrived in; the reader is
// server/operations/log-times.ts.
//
// Cheap on purpose: entries are buffered in memory and appended at most every FLUSH_MS (and at
// close), one write for many chunks; a chunk on the same stream in the same millisecond as the
// previous entry adds nothing (its lines take that entry's time anyway). Best effort: if the index
// cannot be written (disk full), lines fall back to the attempt's start time, the task goes on.
// Plain ESM, no dependencies (runs as other OS users and on batch nodes).
import fs from 'node:fs'
import path from 'node:path'

export const LOG_TIMES_FILE = 'log-times.tsv'
const FLUSH_MS = 250
const FLUSH_BYTES = 64 * 1024

/**
 * one attempt's clock: `note(stream, fd, bytes)` before each write of `bytes` to a log's fd, or
 * `chunk(stream, offset)` when bytes from `offset` on were seen to arrive (a log the task writes itself)
 */
export function logClock(taskDir, now = Date.now) {
  const file = path.join(taskDir, LOG_TIMES_FILE)
  const offsets = { o: null, e: null }
  let pending = ''
  let last = { s: '', ms: -1 }
  let timer = null
  let failed = false

  const flush = () => {
    if (timer) clearTimeout(timer)
    timer = null
    if (!pending || failed) return
    try {
      fs.appendFileSync(file, pending)
    } catch {
      failed = true // no index: the reader falls back to the attempt's start
    }
    pending = ''
  }

  const record = (s, at) => {
    const ms = now()
    if (last.s === s && last.ms === ms) return
    last = { s, ms }
    pending += `${s} ${at} ${ms}\n`
    if (pending.length >= FLUSH_BYTES) flush()
    else if (!timer) {
      timer = setTimeout(flush, FLUSH_MS)
      timer.unref?.()
    }
  }

  return {
    note(stream, fd, bytes) {
      const s = stream === 'stderr' ? 'e' : 'o'
      if (offsets[s] === null) {
        try {
          offsets[s] = fs.fstatSync(fd).size
        } catch {
          offsets[s] = 0
        }
      }
      const at = offsets[s]
      offsets[s] += bytes
      record(s, at)
    },
    chunk(stream, offset) {
      record(stream === 'stderr' ? 'e' : 'o', offset)
    },
    close: flush,
  }
}
