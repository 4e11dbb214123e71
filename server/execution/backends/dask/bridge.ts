/**
 * Node side of the Python bridge: spawns `python bridge.py`, sends commands as JSON lines and
 * turns the event lines into typed events. One bridge per run (or per scheduler).
 */
import { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import { BRIDGE_PATH } from './python.ts'
import { spawnGroup, stopGroup, type SpawnedProcess } from './procs.ts'
import { withoutServerSecrets } from '../../transport/local.ts'
import { daskUserEnv, type DaskUser } from './as-user.ts'
import {
  type BridgeCommand,
  type BridgeEvent,
  type BridgeTaskEvent,
  type BridgeWorker,
  parseBridgeEvent,
  type SubmitCommand,
} from './protocol.ts'

export interface BridgeOptions {
  python: string
  /** connect to this scheduler address ... */
  address?: string
  /** ... or read it from this scheduler file (waits for the file) */
  schedulerFile?: string
  /** seconds to connect (default 30) */
  timeout?: number
  /** seconds between worker list refreshes (default 2) */
  poll?: number
  /** do not register the scheduler plugin (no processing / no-worker events) */
  noPlugin?: boolean
  /** the bridge's stderr (Python and distributed logs) is appended there */
  logFile?: string
  /** interpreter for the per-worker reaper (default: the worker's own) */
  workerPython?: string
  /** every key starts with it (the scheduler plugin follows only these keys) */
  keyPrefix?: string
  env?: NodeJS.ProcessEnv
  /**
   * users mode: the bridge runs as this OS user (it holds a Dask client, and whatever the cluster
   * sends a client is unpickled: it must not run as the server's user) with the run's mutual TLS;
   * the server only reads its JSON lines
   */
  user?: DaskUser | null
}

export interface BridgeReady {
  bridgeId: string
  plugin: boolean
  scheduler: { address: string; id: string | null; dashboard: string | null; dashboardPort: number | null }
  workers: BridgeWorker[]
  distributed: string
}

/** longest event line kept: in users mode the bridge is the account's process, and its output is data */
const MAX_EVENT_LINE = 16 << 20

/** calls `onLine` for each line of `input`; a line longer than `max` characters is dropped whole */
export function splitLines(input: Readable, max: number, onLine: (line: string) => void): void {
  let partial = ''
  let skipping = false
  input.setEncoding('utf8')
  input.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (skipping)
        skipping = false // the end of an overlong line
      else onLine(line)
    }
    if (partial.length > max) {
      partial = ''
      skipping = true
    }
  })
  input.on('end', () => {
    if (partial && !skipping) onLine(partial)
  })
}

export class BridgeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BridgeError'
  }
}

export interface DaskBridgeEvents {
  task: [BridgeTaskEvent]
  worker: [{ action: 'added' | 'removed'; worker: BridgeWorker; tasks: string[]; ts: number }]
  /** a command the bridge could not do (not an EventEmitter 'error': it never throws) */
  problem: [{ message: string; op?: string; taskId?: string }]
  cancel: [{ taskIds: string[]; killed: Record<string, number> }]
  exit: [{ code: number | null; signal: string | null; stderrTail: string }]
  event: [BridgeEvent]
}

/**
 * The bridge process. `start()` resolves once it is connected to the scheduler. Events are
 * emitted as they arrive; `send` never blocks on the Python side's answer.
 */
export class DaskBridge extends EventEmitter<DaskBridgeEvents> {
  private proc: SpawnedProcess | null = null
  private readyInfo: BridgeReady | null = null
  private closed = false
  private stderrTail = ''
  private pending = new Map<string, (v: unknown) => void>()
  private seq = 0
  /** number of events received per kind (diagnostics, bench) */
  readonly counts: Record<string, number> = {}

  constructor(readonly opts: BridgeOptions) {
    super()
  }

  get ready(): BridgeReady | null {
    return this.readyInfo
  }

  get pid(): number | null {
    return this.proc?.pid ?? null
  }

  get alive(): boolean {
    return !!this.proc?.running
  }

  async start(): Promise<BridgeReady> {
    if (this.proc) throw new BridgeError('bridge already started')
    const o = this.opts
    const argv = [o.python, '-u', BRIDGE_PATH]
    if (o.address) argv.push('--address', o.address)
    else if (o.schedulerFile) argv.push('--scheduler-file', o.schedulerFile)
    else throw new BridgeError('the bridge needs a scheduler address or a scheduler file')
    argv.push('--timeout', String(o.timeout ?? 30), '--poll', String(o.poll ?? 2))
    if (o.noPlugin) argv.push('--no-plugin')
    if (o.workerPython) argv.push('--worker-python', o.workerPython)
    if (o.keyPrefix) argv.push('--key-prefix', o.keyPrefix)
    const user = o.user ?? null
    if (user) argv.push('--tls-ca-file', user.tls.ca, '--tls-cert', user.tls.cert, '--tls-key', user.tls.key)
    const p = spawnGroup(argv, {
      pipe: true,
      ...(o.logFile ? { logFile: o.logFile } : {}),
      runAs: user?.runAs ?? null,
      env: user
        ? daskUserEnv(user.runAs, (o.env ?? {}) as Record<string, string>)
        : { ...withoutServerSecrets(process.env), ...o.env, PYTHONUNBUFFERED: '1' },
    })
    this.proc = p
    if (!o.logFile && p.child.stderr) {
      p.child.stderr.setEncoding('utf8')
      p.child.stderr.on('data', (d: string) => {
        this.stderrTail = (this.stderrTail + d).slice(-8000)
      })
    }
    p.child.stdin!.on('error', () => {
      /* EPIPE when the bridge died: reported by 'exit' */
    })
    splitLines(p.child.stdout!, MAX_EVENT_LINE, (line) => this.onLine(line))

    return await new Promise<BridgeReady>((resolve, reject) => {
      let settled = false
      const timer = setTimeout(
        () => {
          if (settled) return
          settled = true
          reject(new BridgeError(`the Dask bridge did not connect within ${(o.timeout ?? 30) + 15}s`))
          void this.kill()
        },
        ((o.timeout ?? 30) + 15) * 1000,
      )
      const onEvent = (e: BridgeEvent) => {
        if (settled) return
        if (e.event === 'ready') {
          settled = true
          clearTimeout(timer)
          this.off('event', onEvent)
          resolve(this.readyInfo!)
        } else if (e.event === 'fatal') {
          settled = true
          clearTimeout(timer)
          this.off('event', onEvent)
          reject(new BridgeError(e.message))
        }
      }
      this.on('event', onEvent)
      void p.exited.then(({ code, signal }) => {
        this.closed = true
        for (const [, r] of this.pending) r(null)
        this.pending.clear()
        this.emit('exit', { code, signal, stderrTail: this.stderrTail })
        if (!settled) {
          settled = true
          clearTimeout(timer)
          reject(
            new BridgeError(
              `the Dask bridge exited (${signal ?? `code ${code}`}) before connecting: ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}`,
            ),
          )
        }
      })
    })
  }

  private onLine(line: string) {
    if (!line.trim()) return
    const parsed = parseBridgeEvent(line)
    if (!parsed.ok) {
      // a print() of a task or a library, or a line the protocol does not allow: kept for the
      // bridge's exit message, and a malformed event is said out loud rather than acted on
      this.stderrTail = (this.stderrTail + `\n[stdout] ${line.slice(0, 2000)}`).slice(-8000)
      if (parsed.error !== 'not JSON')
        this.emit('problem', { message: `the Dask bridge wrote a line that is ${parsed.error}: ${line.slice(0, 300)}` })
      return
    }
    const e = parsed.event
    this.counts[e.event] = (this.counts[e.event] ?? 0) + 1
    if (e.event === 'ready') {
      this.readyInfo = {
        bridgeId: e.bridgeId,
        plugin: e.plugin,
        scheduler: e.scheduler,
        workers: e.workers,
        distributed: e.distributed,
      }
    }
    this.emit('event', e)
    switch (e.event) {
      case 'task':
        this.emit('task', e)
        break
      case 'worker':
        this.emit('worker', { action: e.action, worker: e.worker, tasks: e.tasks ?? [], ts: e.ts })
        break
      case 'error':
        this.emit('problem', {
          message: e.message,
          ...(e.op ? { op: e.op } : {}),
          ...(e.taskId ? { taskId: e.taskId } : {}),
        })
        break
      case 'cancel':
        this.emit('cancel', { taskIds: e.taskIds, killed: e.killed })
        break
      case 'workers':
      case 'pong': {
        const id = String(e.id ?? '')
        const r = this.pending.get(id)
        if (r) {
          this.pending.delete(id)
          r(e)
        }
        break
      }
      default:
        break
    }
  }

  send(cmd: BridgeCommand): void {
    if (this.closed || !this.proc?.child.stdin?.writable) throw new BridgeError('the Dask bridge is not running')
    this.proc.child.stdin.write(JSON.stringify(cmd) + '\n')
  }

  submit(cmd: Omit<SubmitCommand, 'op'>): void {
    this.send({ op: 'submit', ...cmd })
  }

  cancel(taskIds: string[], grace?: number): void {
    if (taskIds.length === 0) return
    this.send({ op: 'cancel', taskIds, ...(grace !== undefined ? { grace } : {}) })
  }

  /** a round trip through the bridge's event loop */
  async ping(): Promise<number> {
    const t0 = performance.now()
    const id = `p${++this.seq}`
    const done = new Promise((r) => this.pending.set(id, r))
    this.send({ op: 'ping', id })
    await done
    return performance.now() - t0
  }

  /** the scheduler's current workers (refreshed by the bridge) */
  async workers(): Promise<BridgeWorker[]> {
    const id = `w${++this.seq}`
    const done = new Promise<unknown>((r) => this.pending.set(id, r))
    this.send({ op: 'workers', id })
    const e = (await done) as { workers?: BridgeWorker[] } | null
    return e?.workers ?? []
  }

  /**
   * Ask the bridge to stop: it kills the process trees of tasks still running, closes its client
   * and exits. Killed if it does not exit within `graceMs`.
   */
  async close(graceMs = 20_000): Promise<void> {
    const p = this.proc
    if (!p) return
    if (p.running && !this.closed) {
      try {
        this.send({ op: 'shutdown' })
        p.child.stdin?.end()
      } catch {
        /* already gone */
      }
      const t = setTimeout(() => void this.kill(), graceMs)
      await p.exited
      clearTimeout(t)
    }
    await stopGroup(p, 1000)
  }

  async kill(): Promise<void> {
    if (this.proc) await stopGroup(this.proc, 500)
  }
}
