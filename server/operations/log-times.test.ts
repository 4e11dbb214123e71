/**
 * Per-line log times: the runtime's clock (log-times.mjs) writes one index entry per chunk, buffered
 * and coalesced; the reader maps a byte of a log to its chunk's time and order, and keeps times on
 * the right lines when redaction merges lines.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { logClock } from '../execution/runtime/log-times.mjs'
import { alignTimes, LOG_TIMES_FILE, parseLogTimes, readLogTimes, timeAt, type TimedLine } from './log-times.ts'

describe('log times', () => {
  it('the runtime clock records each chunk once, coalescing a stream within a millisecond, and flushes on close', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logtimes-'))
    const out = fs.openSync(path.join(dir, 'stdout.log'), 'a')
    const err = fs.openSync(path.join(dir, 'stderr.log'), 'a')
    fs.writeSync(out, 'marker\n') // written before the first chunk: the offsets start after it
    let now = 1000
    const clock = logClock(dir, () => now)
    clock.note('stdout', out, 4)
    clock.note('stdout', out, 3) // same ms, same stream: covered by the entry before
    clock.note('stderr', err, 5)
    now = 1010
    clock.note('stdout', out, 2)
    expect(fs.existsSync(path.join(dir, LOG_TIMES_FILE))).toBe(false) // buffered, not yet written
    clock.close()
    expect(fs.readFileSync(path.join(dir, LOG_TIMES_FILE), 'utf8')).toBe('o 7 1000\ne 0 1000\no 14 1010\n')
    const idx = await readLogTimes(dir)
    expect(timeAt(idx, 'stdout', 6)).toBeNull() // the marker: before any chunk
    expect(timeAt(idx, 'stdout', 10)).toEqual({ ms: 1000, seq: 0 })
    expect(timeAt(idx, 'stdout', 14)).toEqual({ ms: 1010, seq: 2 })
    expect(timeAt(idx, 'stderr', 3)).toEqual({ ms: 1000, seq: 1 })
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('a log rewritten from the start drops the entries of the old bytes', () => {
    const idx = parseLogTimes('o 0 1\no 50 2\no 0 3\nnot an entry\no 10 4\n')
    expect(idx.stdout.off).toEqual([0, 10])
    expect(timeAt(idx, 'stdout', 60)).toEqual({ ms: 4, seq: 3 })
  })

  it('redaction that merges lines keeps later lines on their own times', () => {
    const raw = ['a', '-----BEGIN X KEY-----', 'secretbody', '-----END X KEY-----', 'b']
    const redacted = ['a', '[REDACTED X KEY]', 'b']
    const timeOf = (i: number): TimedLine => ({ text: '', at: 100 + i, seq: i, byte: i * 10 })
    expect(alignTimes(raw, redacted, timeOf).map((l) => [l.text, l.at])).toEqual([
      ['a', 100],
      ['[REDACTED X KEY]', 101],
      ['b', 104],
    ])
  })
})
