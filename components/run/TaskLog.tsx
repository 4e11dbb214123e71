'use client'
/**
 * Live log tail of one task: reads the end of the log (`run.log` with `tail`), then follows it by
 * offset (polling about once a second while the task is not finished; at once while there is more to
 * read). Keeps the last 512 KiB in view; the full file is a download
 * (/runs/<run>/tasks/<task>/log?stream=…).
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react'
import { useTRPCClient } from '~/components/trpc/client'
import { STATE_COLORS } from './aggregate'

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

export function TaskLog({ runId, taskId, label, state, onClose }: TaskLogProps) {
  const client = useTRPCClient()
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout')
  const [text, setText] = useState('')
  const [trimmed, setTrimmed] = useState(false)
  const [done, setDone] = useState(false)
  const [size, setSize] = useState(0)
  const [error, setError] = useState<string | null>(null)
  const [follow, setFollow] = useState(true)
  const pre = useRef<HTMLPreElement>(null)
  // a state change (e.g. retried) wakes the poller at once
  const wake = useRef<(() => void) | null>(null)
  // biome-ignore lint/correctness/useExhaustiveDependencies: pre-existing: review when this component is next changed
  useEffect(() => {
    wake.current?.()
  }, [state])

  useEffect(() => {
    let stopped = false
    let offset: number | null = null
    setText('')
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
              ? { taskId, stream, tail: true, limit: TAIL_BYTES }
              : { taskId, stream, offset, limit: CHUNK_BYTES },
          )
          if (stopped) return
          setError(null)
          if (offset == null && res.offset > 0) setTrimmed(true)
          if (res.offset < (offset ?? 0)) {
            // the file was replaced (a new attempt): start over
            offset = null
            setText('')
            continue
          }
          if (res.text) {
            setText((prev) => {
              const next = prev + res.text
              if (next.length <= KEEP_CHARS) return next
              setTrimmed(true)
              const cut = next.indexOf('\n', next.length - KEEP_CHARS)
              return next.slice(cut >= 0 ? cut + 1 : next.length - KEEP_CHARS)
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

  // biome-ignore lint/correctness/useExhaustiveDependencies: pre-existing: review when this component is next changed
  useLayoutEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight
  }, [text, follow])

  const href = `/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}/log?stream=${stream}`
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
