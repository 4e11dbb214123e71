'use client'
/**
 * Live log tail of one task: reads the end of the log (`run.log` with `tail`), then follows it by
 * offset (polling about once a second while the task is not finished; at once while there is more to
 * read). Every line carries the time it was written (`run.log` with `times`), shown with the
 * "times" toggle. Keeps the last 512 KiB in view; the full file is a download
 * (/runs/<run>/tasks/<task>/log?stream=…, with an ISO time column when times are shown).
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react'
import { useTRPCClient } from '~/components/trpc/client'
import { STATE_COLORS } from './aggregate'
import { formatLineTime } from './RunLog'

const TAIL_BYTES = 64 * 1024
const CHUNK_BYTES = 256 * 1024
const KEEP_CHARS = 512 * 1024
const POLL_MS = 1000

export interface TaskLogProps {
  runId: string
  taskId: string
  label: string
  state: string | null
  onClose: () => void
}

/** the log as lines with their times; `open`: the last line has no newline yet */
interface TimedText {
  lines: { at: number | null; text: string }[]
  open: boolean
  chars: number
}
const EMPTY: TimedText = { lines: [], open: false, chars: 0 }

/** appends a chunk (its text and one time per line starting in it) to the lines kept in view */
export function appendChunk(
  prev: TimedText,
  chunk: { text: string; lineTimes?: (number | null)[] },
): { next: TimedText; trimmed: boolean } {
  if (!chunk.text) return { next: prev, trimmed: false }
  const parts = chunk.text.split('\n')
  const endsOpen = !chunk.text.endsWith('\n')
  if (!endsOpen) parts.pop()
  const lines = prev.lines.slice()
  parts.forEach((text, i) => {
    if (i === 0 && prev.open && lines.length > 0) {
      // the end of the line begun in the chunk before: it keeps that line's time
      const last = lines[lines.length - 1]!
      lines[lines.length - 1] = { at: last.at, text: last.text + text }
    } else lines.push({ at: chunk.lineTimes?.[i] ?? null, text })
  })
  let chars = prev.chars + chunk.text.length
  let drop = 0
  while (chars > KEEP_CHARS && drop < lines.length - 1) chars -= lines[drop++]!.text.length + 1
  return { next: { lines: drop ? lines.slice(drop) : lines, open: endsOpen, chars }, trimmed: drop > 0 }
}

export function TaskLog({ runId, taskId, label, state, onClose }: TaskLogProps) {
  const client = useTRPCClient()
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout')
  const [log, setLog] = useState<TimedText>(EMPTY)
  const [showTimes, setShowTimes] = useState(false)
  const [trimmed, setTrimmed] = useState(false)
  const [done, setDone] = useState(false)
  const [size, setSize] = useState(0)
  const [error, setError] = useState<string | null>(null)
  const [follow, setFollow] = useState(true)
  const pre = useRef<HTMLPreElement>(null)
  // a state change (e.g. retried) wakes the poller at once
  const wake = useRef<(() => void) | null>(null)
  // biome-ignore lint/correctness/useExhaustiveDependencies: `state` is the trigger: the task's state changed, read its log now
  useEffect(() => {
    wake.current?.()
  }, [state])

  useEffect(() => {
    let stopped = false
    let offset: number | null = null
    setLog(EMPTY)
    setTrimmed(false)
    setDone(false)
    setError(null)
    setSize(0)
    const sleep = (ms: number) =>
      new Promise<void>((res) => {
        const t = setTimeout(finish, ms)
        function finish() {
          clearTimeout(t)
          wake.current = null
          res()
        }
        wake.current = finish
      })
    ;(async () => {
      while (!stopped) {
        try {
          const res = await client.run.log.query(
            offset == null
              ? { taskId, stream, tail: true, limit: TAIL_BYTES, times: true }
              : { taskId, stream, offset, limit: CHUNK_BYTES, times: true },
          )
          if (stopped) return
          setError(null)
          if (offset == null && res.offset > 0) setTrimmed(true)
          if (res.offset < (offset ?? 0)) {
            // the file was replaced (a new attempt): start over
            offset = null
            setLog(EMPTY)
            continue
          }
          if (res.text) {
            setLog((prev) => {
              const { next, trimmed } = appendChunk(prev, res)
              if (trimmed) setTrimmed(true)
              return next
            })
          }
          offset = res.nextOffset
          setSize(res.size)
          setDone(res.done && res.eof)
          if (!res.eof) continue
          if (res.done) {
            // finished: nothing more will be written; one slow check in case of a retry
            await sleep(POLL_MS * 5)
            continue
          }
        } catch (e) {
          if (stopped) return
          setError((e as Error).message)
        }
        await sleep(POLL_MS)
      }
    })()
    return () => {
      stopped = true
      wake.current?.()
    }
  }, [client, taskId, stream])

  // biome-ignore lint/correctness/useExhaustiveDependencies: `log` and `showTimes` are triggers: keep the bottom in view after new or re-laid lines
  useLayoutEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight
  }, [log, follow, showTimes])

  const href = `/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}/log?stream=${stream}${showTimes ? '&times=1' : ''}`
  const text = log.lines.map((l) => (showTimes ? `${formatLineTime(l.at)}  ${l.text}` : l.text)).join('\n')
  return (
    <section
      className="run-panel task-log"
      data-testid="task-log"
      data-task-id={taskId}
      data-stream={stream}
      data-done={done ? 'true' : 'false'}
    >
      <div className="panel-head">
        <h2>
          Log <span className="tl-label">{label}</span>{' '}
          {state ? (
            <span className="tt-state" style={{ ['--state' as string]: STATE_COLORS[state] ?? '#888' }}>
              {state}
            </span>
          ) : null}
        </h2>
        <div className="tl-tools">
          <span className="tl-streams" role="tablist">
            {(['stdout', 'stderr'] as const).map((s) => (
              <button
                key={s}
                type="button"
                role="tab"
                aria-selected={stream === s}
                className={stream === s ? 'is-on' : undefined}
                onClick={() => setStream(s)}
                data-testid={`task-log-${s}`}
              >
                {s}
              </button>
            ))}
          </span>
          <label title="Show the time each line was written (the download gets an ISO time column)">
            <input
              type="checkbox"
              checked={showTimes}
              onChange={(e) => setShowTimes(e.target.checked)}
              data-testid="task-log-times"
            />{' '}
            times
          </label>
          <label title="Keep the end of the log in view">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow
          </label>
          <a className="button" href={href} download data-testid="task-log-download">
            download
          </a>
          <button type="button" onClick={onClose} aria-label="Close the log">
            ✕
          </button>
        </div>
      </div>
      {error ? (
        <div className="run-alert" role="alert">
          {error}
        </div>
      ) : null}
      <pre
        ref={pre}
        className="tl-text"
        data-testid="task-log-text"
        onScroll={(e) => {
          const el = e.currentTarget
          const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24
          if (atBottom !== follow) setFollow(atBottom)
        }}
      >
        {trimmed ? <span className="muted">… earlier output not shown (download the full log){'\n'}</span> : null}
        {text || <span className="muted">{done ? `(empty ${stream})` : `waiting for ${stream}…`}</span>}
      </pre>
      <div className="tl-foot muted">
        {size ? `${size.toLocaleString()} bytes` : ''}
        {done ? ' · finished' : ' · following'}
      </div>
    </section>
  )
}
