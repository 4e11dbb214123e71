/**
 * Warm executors of the local strategy, seen from the server: per run and pool, up to `workers`
 * long-lived detached processes (runtime/executor.mjs) that take task entries from the pool's spool
 * directory (the protocol and why a spool directory: executor.mjs's header).
 *
 * The server only writes inbox entries and reads the executors' events.jsonl files (inotify + a
 * 250 ms sweep). After a server restart `adopt()` re-reads those files from the start: a task that
 * finished meanwhile is reported once (the engine ignores reports of tasks that are no longer active).
 * An executor that dies: its started, unfinished task is `lost` (unless its result.json exists) and a
 * replacement starts when work is waiting.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type ExecutorMessage, parseExecutorLine } from './executor-protocol.ts'
import { newId, randomHex } from './ids.ts'
import { runtimeScript } from './paths.ts'
import { isProcessAlive, killGroup, processesInGroups, processesWithEnv, processStartTicks } from './procfs.ts'
import { readResult } from './strategies/local.ts'
import { taskBaseEnv } from './task-env.ts'
import type { RunAs, TaskLaunch, TaskResult, WorkerUpdate } from './types.ts'
import { makeUserDirectory, openAppend, openOwnedForRead, rootDirectory, writeNewFile } from './user-files.ts'
import { readSetting } from '../settings.ts'

export interface ExecutorEvents {
  started(taskId: string, attempt: number, info: { workerId: string; pid: number; at: string }): void
  finished(taskId: string, attempt: number, result: TaskResult): void
  /** removed from the inbox before any executor took it */
  cancelledBeforeStart(taskId: string, attempt: number): void
  failed(taskId: string, attempt: number, reason: string): void
  lost(taskId: string, attempt: number, reason: string): void
  worker(u: WorkerUpdate): void
  log(level: 'info' | 'warn' | 'error', message: string): void
}

/** longest report line kept (reports are a few hundred bytes) */
const MAX_REPORT_LINE = 1 << 20

interface ExecutorState {
  id: string
  dir: string
  pid: number | null
  startTicks: number | null
  offset: number
  partial: string
  /** the rest of an overlong report line is being skipped */
  skipping?: boolean
  /** said bye or found dead */
  gone: boolean
  watcher: fs.FSWatcher | null
  child: ChildProcess | null
  reported: boolean
  /** the pool that follows it (set when a prestarted executor is taken over) */
  onExit: (() => void) | null
  /** why its process could not be started (spawn's error), said by the pool that follows it */
  startError: string | null
  onStartError: ((message: string) => void) | null
  /** the OS user it runs as (users mode): its files are written as that user's, never through links */
  runAs: RunAs | null
}

interface TaskTrack {
  taskId: string
  attempt: number
  taskDir: string
  entry: string
  taskKey: string
  executorId: string | null
  pgid: number | null
  started: boolean
  finished: boolean
}

const trackKey = (taskId: string, attempt: number) => `${taskId}.${attempt}`
const executorScript = () => path.join(path.dirname(runtimeScript()), 'executor.mjs')

/** a file-name-safe form of a pool name (pool names are identifiers, but never trust them in paths) */
export function poolDirName(pool: string): string {
  return `pool-${pool.replace(/[^A-Za-z0-9_.-]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`
}

/**
 * Finds a task handed to a pool's spool whose submission was not stored (the server died between
 * writing the inbox entry and storing `task.submitted`): in the inbox or claimed by an executor.
 */
export function findSpooled(
  runDir: string,
  pool: string,
  taskId: string,
  attempt: number,
): { poolDir: string; entry: string; taskKey: string } | null {
  const poolDir = path.join(runDir, 'executors', poolDirName(pool))
  const suffix = `-${taskId}.${attempt}.json`
  let dirs: string[] = []
  try {
    dirs = fs
      .readdirSync(poolDir)
      .map((d) => (d === 'inbox' ? path.join(poolDir, d) : path.join(poolDir, d, 'claimed')))
  } catch {
    return null
  }
  for (const dir of dirs) {
    let names: string[] = []
    try {
      names = fs.readdirSync(dir)
    } catch {
      continue
    }
    const entry = names.find((n) => n.endsWith(suffix))
    if (!entry) continue
    try {
      const body = JSON.parse(fs.readFileSync(path.join(dir, entry), 'utf8'))
      const taskKey = body.taskKey ?? body.env?.CONTROLROOM_TASK_KEY
      if (typeof taskKey === 'string') return { poolDir, entry, taskKey }
    } catch {
      /* being renamed: look again later */
    }
  }
  return null
}

/** starts one executor process of a pool (detached, unref'd); its reports are read by whoever follows it */
function startExecutor(poolDir: string, runAs: RunAs | null): ExecutorState {
  const id = newId('w')
  const dir = path.join(poolDir, id)
  if (runAs) {
    // made by root in the pool's directory, which is root's: nothing on the way can be a link
    makeUserDirectory(dir, runAs)
    makeUserDirectory(path.join(dir, 'claimed'), runAs)
  } else fs.mkdirSync(path.join(dir, 'claimed'), { recursive: true })
  const logFd = openAppend(path.join(dir, 'executor.log'), runAs)
  const options: SpawnOptions = {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: taskBaseEnv(process.env, runAs) as NodeJS.ProcessEnv,
    cwd: dir,
  }
  // with uid/gid, libuv also drops the supplementary groups (setgroups(0)) before exec
  if (runAs) Object.assign(options, { uid: runAs.uid, gid: runAs.gid })
  // CONTROLROOM_EXECUTOR_NODE_ARGS: node flags for the executors (e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile them)
  const nodeArgs = (readSetting('CONTROLROOM_EXECUTOR_NODE_ARGS') ?? '').split(/\s+/).filter(Boolean)
  const child = spawn(process.execPath, [...nodeArgs, executorScript(), '--pool-dir', poolDir, '--id', id], options)
  fs.closeSync(logFd)
  child.unref()
  const e: ExecutorState = {
    id,
    dir,
    pid: child.pid ?? null,
    startTicks: child.pid ? processStartTicks(child.pid) : null,
    offset: 0,
    partial: '',
    gone: false,
    watcher: null,
    child,
    reported: false,
    onExit: null,
    startError: null,
    onStartError: null,
    runAs,
  }
  child.once('error', (err) => {
    e.gone = true
    e.startError = err.message
    e.onStartError?.(err.message)
  })
  // our own child: its exit is known at once (no need to wait for the sweep)
  child.once('exit', () => {
    e.child = null
    e.onExit?.()
  })
  return e
}

/**
 * Users mode: `executors/` and the pool's directory are root's (0711), so the run's tasks can swap
 * nothing there; the inbox (the executors take entries from it) is the run's user's (user-files.ts)
 */
function spoolForUser(runDir: string, poolDir: string, runAs: RunAs): void {
  rootDirectory(path.join(runDir, 'executors'))
  rootDirectory(poolDir)
  makeUserDirectory(path.join(poolDir, 'inbox'), runAs)
}

/** executors started ahead of their pool's first task, by pool directory (prestartExecutors) */
const prestarted = new Map<string, ExecutorState[]>()

/**
 * Starts a pool's executors now, before the run is stored and its first task handed over, so that
 * their start (a node process each) overlaps the engine's own work; the pool's ExecutorPool takes
 * them over when the run's session opens. `count`: how many the pool will use (its workers, at most
 * its tasks).
 */
export function prestartExecutors(o: { runDir: string; pool: string; count: number; runAs?: RunAs | null }) {
  const poolDir = path.join(o.runDir, 'executors', poolDirName(o.pool))
  if (o.runAs) spoolForUser(o.runDir, poolDir, o.runAs)
  else fs.mkdirSync(path.join(poolDir, 'inbox'), { recursive: true })
  const list = prestarted.get(poolDir) ?? []
  while (list.length < o.count) list.push(startExecutor(poolDir, o.runAs ?? null))
  prestarted.set(poolDir, list)
}

/** a run that will not start after all: its prestarted executors stop (they would idle out anyway) */
export function dropPrestarted(runDir: string) {
  const prefix = path.join(runDir, 'executors') + path.sep
  for (const [poolDir, list] of prestarted) {
    if (!poolDir.startsWith(prefix)) continue
    prestarted.delete(poolDir)
    for (const e of list)
      try {
        writeNewFile(path.join(e.dir, 'stop'), '', e.runAs)
      } catch {
        /* gone with its directory */
      }
  }
}

export class ExecutorPool {
  readonly poolDir: string
  readonly inbox: string
  private executors = new Map<string, ExecutorState>()
  private tasks = new Map<string, TaskTrack>()
  private sweepTimer: NodeJS.Timeout | null = null
  /** executors in a row that died before saying hello (a broken setup: do not respawn forever) */
  private failedStarts = 0
  private seq = 0
  private closed = false
  /** one buffer for every report read (a report file is read twice per task) */
  private readBuffer = Buffer.allocUnsafe(64 * 1024)

  constructor(
    private o: {
      runDir: string
      pool: string
      workers: number
      runAs?: RunAs | null
      events: ExecutorEvents
    },
  ) {
    this.poolDir = path.join(o.runDir, 'executors', poolDirName(o.pool))
    this.inbox = path.join(this.poolDir, 'inbox')
    if (o.runAs) spoolForUser(o.runDir, this.poolDir, o.runAs)
    else fs.mkdirSync(this.inbox, { recursive: true })
    const early = prestarted.get(this.poolDir)
    prestarted.delete(this.poolDir)
    for (const e of early ?? []) this.follow(e)
  }

  // ---------------------------------------------------------------- dispatch

  /**
   * Hands a task to the pool: one inbox entry, durable once renamed into place. With the spec in
   * the launch the entry IS the spec (the executor hard-links it to <taskDir>/spec.json: one file
   * written per task here); else the entry points at the spec file already written.
   */
  enqueue(l: TaskLaunch): { taskKey: string; entry: string } {
    const taskKey = randomHex(12)
    const entry = `${Date.now().toString().padStart(14, '0')}${String(this.seq++ % 1e6).padStart(6, '0')}-${l.taskId}.${l.attempt}.json`
    const tmp = path.join(this.poolDir, `.${entry}`)
    const body = l.spec
      ? { ...l.spec, env: { ...l.spec.env, CONTROLROOM_TASK_KEY: taskKey } }
      : { specPath: l.specPath, taskKey }
    if (this.o.runAs) writeNewFile(tmp, JSON.stringify(body), this.o.runAs)
    else fs.writeFileSync(tmp, JSON.stringify(body))
    fs.renameSync(tmp, path.join(this.inbox, entry))
    this.track({ taskId: l.taskId, attempt: l.attempt, taskDir: l.taskDir, entry, taskKey })
    this.ensureExecutors()
    this.startSweep()
    return { taskKey, entry }
  }

  private track(t: { taskId: string; attempt: number; taskDir: string; entry: string; taskKey: string }): TaskTrack {
    const k = trackKey(t.taskId, t.attempt)
    let tr = this.tasks.get(k)
    if (!tr) {
      tr = { ...t, executorId: null, pgid: null, started: false, finished: false }
      this.tasks.set(k, tr)
    }
    return tr
  }

  private liveCount(): number {
    let n = 0
    for (const e of this.executors.values()) if (!e.gone) n++
    return n
  }

  private waitingEntries(): number {
    try {
      return fs.readdirSync(this.inbox).filter((n) => n.endsWith('.json')).length
    } catch {
      return 0
    }
  }

  /** starts executors while work waits and fewer than `workers` are alive */
  private ensureExecutors() {
    if (this.closed) return
    // the common case, every executor alive: no need to look at the inbox (one readdir per enqueue)
    if (this.liveCount() >= Math.max(1, this.o.workers)) return
    const want = Math.min(Math.max(1, this.o.workers), this.liveCount() + this.waitingEntries())
    while (this.liveCount() < want) this.spawnExecutor()
  }

  private spawnExecutor() {
    this.follow(startExecutor(this.poolDir, this.o.runAs ?? null))
  }

  /** an executor this pool started (now or ahead of its first task): watched, reported `requested` */
  private follow(e: ExecutorState) {
    e.onExit = () => setImmediate(() => this.sweep())
    e.onStartError = (m) => this.o.events.log('error', `cannot start an executor for pool '${this.o.pool}': ${m}`)
    if (e.startError) e.onStartError(e.startError)
    if (!e.child) e.onExit()
    this.executors.set(e.id, e)
    this.watch(e)
    this.o.events.worker({
      workerId: e.id,
      pool: this.o.pool,
      state: 'requested',
      kind: 'executor',
      pid: e.pid,
      host: os.hostname(),
    })
    // a prestarted executor may have said hello before it was watched
    this.read(e)
  }

  private watch(e: ExecutorState) {
    try {
      e.watcher = fs.watch(e.dir, (_ev, f) => {
        if (f === 'events.jsonl') this.read(e)
      })
      e.watcher.unref?.()
    } catch {
      /* the sweep reads it */
    }
  }

  // ---------------------------------------------------------------- reports

  private read(e: ExecutorState) {
    const file = path.join(e.dir, 'events.jsonl')
    // users mode: the executor's (that user's) own file, never a link it put there
    const fd = openOwnedForRead(file, this.o.runAs ?? null)
    if (fd === null) return
    try {
      const buf = this.readBuffer
      // at most 8 MiB a sweep: a task flooding its executor's file cannot hold the event loop (the rest
      // is read by the next sweeps)
      for (let budget = 8 << 20; budget > 0; ) {
        const n = fs.readSync(fd, buf, 0, buf.length, e.offset)
        if (n <= 0) break
        budget -= n
        e.offset += n
        const text = e.partial + buf.toString('utf8', 0, n)
        const lines = text.split('\n')
        e.partial = lines.pop() ?? ''
        for (const line of lines) {
          if (e.skipping) {
            e.skipping = false // the end of an overlong line
            continue
          }
          if (line) this.onLine(e, line)
        }
        // a report line is small: an endless one (a task can append to its executor's file) is
        // dropped instead of growing the server's memory without bound
        if (e.partial.length > MAX_REPORT_LINE) {
          this.o.events.log('warn', `executor ${e.id}: ignored a report line longer than ${MAX_REPORT_LINE} characters`)
          e.partial = ''
          e.skipping = true
        }
      }
    } finally {
      fs.closeSync(fd)
    }
  }

  private onLine(e: ExecutorState, line: string) {
    const p = parseExecutorLine(line)
    if (!p.ok) {
      this.o.events.log('warn', `executor ${e.id}: ignored a report line (${p.error})`)
      return
    }
    this.onMessage(e, p.msg)
  }

  private onMessage(e: ExecutorState, m: ExecutorMessage) {
    const ev = this.o.events
    switch (m.t) {
      case 'hello':
        this.failedStarts = 0
        e.pid = m.pid
        e.startTicks = m.startTicks
        if (!e.reported) {
          e.reported = true
          ev.worker({ workerId: e.id, pool: this.o.pool, state: 'running', kind: 'executor', pid: m.pid, host: m.host })
        }
        return
      case 'started': {
        const tr = this.tasks.get(trackKey(m.taskId, m.attempt))
        if (!tr || tr.finished) return
        tr.executorId = e.id
        tr.pgid = m.pgid
        if (!tr.started) {
          tr.started = true
          ev.started(m.taskId, m.attempt, { workerId: e.id, pid: m.pid, at: m.at })
        }
        return
      }
      case 'finished': {
        const tr = this.tasks.get(trackKey(m.taskId, m.attempt))
        if (!tr || tr.finished) return
        tr.finished = true
        tr.executorId ??= e.id
        this.tasks.delete(trackKey(m.taskId, m.attempt))
        ev.finished(m.taskId, m.attempt, m.result as TaskResult)
        return
      }
      case 'failed': {
        const tr = this.tasks.get(trackKey(m.taskId, m.attempt))
        if (!tr || tr.finished) return
        tr.finished = true
        this.tasks.delete(trackKey(m.taskId, m.attempt))
        ev.failed(m.taskId, m.attempt, m.reason)
        return
      }
      case 'bye':
        e.gone = true
        return
    }
  }

  private startSweep() {
    if (this.sweepTimer || this.closed) return
    this.sweepTimer = setInterval(() => this.sweep(), 250)
    this.sweepTimer.unref?.()
  }

  /** reads every report file, finds dead executors, replaces them while work waits */
  sweep() {
    if (this.closed) return
    this.discover()
    for (const e of this.executors.values()) {
      this.read(e)
      if (e.gone && !e.child) this.buryTasksOf(e, 'stopped')
      else if (!e.child && !isProcessAlive(e.pid, e.startTicks)) {
        this.read(e)
        e.gone = true
        if (!e.reported) this.failedStarts++
        this.buryTasksOf(e, 'died')
      }
    }
    if (this.failedStarts >= 3) this.failWaiting()
    for (const [id, e] of this.executors)
      if (e.gone && !e.child && ![...this.tasks.values()].some((t) => t.executorId === id)) {
        e.watcher?.close()
        this.executors.delete(id)
        this.o.events.worker({
          workerId: id,
          pool: this.o.pool,
          state: 'gone',
          kind: 'executor',
          reason: null,
        })
      }
    if (this.tasks.size > 0) this.ensureExecutors()
    else if (this.sweepTimer && this.liveCount() === 0) {
      clearInterval(this.sweepTimer)
      this.sweepTimer = null
    }
  }

  /** executors cannot start here: every task still waiting fails with what the executor said */
  private failWaiting() {
    let said = ''
    for (const e of this.executors.values())
      try {
        said = fs.readFileSync(path.join(e.dir, 'executor.log'), 'utf8').trim().split('\n').slice(-3).join(' | ')
      } catch {
        /* no log */
      }
    const reason = `the executors of pool '${this.o.pool}' exit at start${said ? `: ${said}` : ''}${this.o.runAs ? ` (they run as ${this.o.runAs.user}: can that user reach ${this.poolDir}?)` : ''}`
    for (const tr of [...this.tasks.values()]) {
      if (tr.started || tr.finished) continue
      try {
        fs.unlinkSync(path.join(this.inbox, tr.entry))
      } catch {
        continue
      }
      tr.finished = true
      this.tasks.delete(trackKey(tr.taskId, tr.attempt))
      this.o.events.failed(tr.taskId, tr.attempt, reason)
    }
    this.failedStarts = 0
  }

  /** the tasks an executor held when it went away: finished (result.json) or lost */
  private buryTasksOf(e: ExecutorState, how: 'died' | 'stopped') {
    let claimed: string[] = []
    try {
      claimed = fs.readdirSync(path.join(e.dir, 'claimed'))
    } catch {
      /* none */
    }
    for (const tr of [...this.tasks.values()]) {
      if (tr.finished) continue
      const mine = tr.executorId === e.id || claimed.includes(tr.entry)
      if (!mine) continue
      tr.finished = true
      this.tasks.delete(trackKey(tr.taskId, tr.attempt))
      const result = readResult(tr.taskDir, tr.attempt)
      if (result) this.o.events.finished(tr.taskId, tr.attempt, result)
      else
        this.o.events.lost(
          tr.taskId,
          tr.attempt,
          `its executor ${e.id} (pid ${e.pid ?? '?'}) ${how === 'died' ? 'died' : 'exited'} ${tr.started ? 'while running it' : 'before starting it'}`,
        )
    }
  }

  // ---------------------------------------------------------------- restart

  /** after a server restart: find this pool's executors and re-read what they reported */
  adopt(tasks: { taskId: string; attempt: number; taskDir: string; entry: string; taskKey: string }[]) {
    for (const t of tasks) this.track(t)
    this.discover()
    this.sweep()
    this.startSweep()
  }

  /** executors of this pool that another session (an earlier server) started: follow them too */
  private discover() {
    let names: string[] = []
    try {
      names = fs.readdirSync(this.poolDir)
    } catch {
      /* nothing was started */
    }
    for (const id of names) {
      if (id === 'inbox' || id.startsWith('.') || this.executors.has(id)) continue
      const dir = path.join(this.poolDir, id)
      const e: ExecutorState = {
        id,
        dir,
        pid: null,
        startTicks: null,
        offset: 0,
        partial: '',
        gone: false,
        watcher: null,
        child: null,
        reported: true,
        onExit: null,
        startError: null,
        onStartError: null,
        runAs: this.o.runAs ?? null,
      }
      this.read(e)
      if (e.pid === null && !e.gone) {
        // started by another session a moment ago: no hello yet. Give it 10 s to say it.
        let young = false
        try {
          young = Date.now() - fs.statSync(dir).mtimeMs < 10_000
        } catch {
          /* removed */
        }
        if (young) continue
      }
      this.executors.set(id, e)
      if (!e.gone && isProcessAlive(e.pid, e.startTicks)) this.watch(e)
      else e.gone = true
    }
  }

  /**
   * What is known of a tracked task now: waiting in the inbox, claimed by a live executor, running,
   * or `vanished` (in no inbox, claimed by no executor, never reported: it was lost). `unknown`: not
   * tracked (finished and reported already, or never handed to this pool).
   */
  status(taskId: string, attempt: number): 'waiting' | 'claimed' | 'running' | 'vanished' | 'unknown' {
    const k = trackKey(taskId, attempt)
    const tr = this.tasks.get(k)
    if (!tr) return 'unknown'
    if (tr.started) return 'running'
    // an entry is this task's only if its name says so (a stored ref may be stale or forged)
    if (!tr.entry.endsWith(`-${taskId}.${attempt}.json`)) return 'vanished'
    if (fs.existsSync(path.join(this.inbox, tr.entry))) return 'waiting'
    this.discover()
    for (const e of this.executors.values())
      if (!e.gone && fs.existsSync(path.join(e.dir, 'claimed', tr.entry))) return 'claimed'
    // it may have finished between the two looks: read the reports again before calling it lost
    for (const e of this.executors.values()) this.read(e)
    const again = this.tasks.get(k)
    if (!again) return 'unknown'
    if (again.started) return 'running'
    return 'vanished'
  }

  /** forgets a task (reported final by the caller) */
  forget(taskId: string, attempt: number) {
    this.tasks.delete(trackKey(taskId, attempt))
  }

  // ---------------------------------------------------------------- cancel

  /** stops tasks: an entry not yet taken is withdrawn; a running one is killed (group + key) */
  async cancel(tasks: { taskId: string; attempt: number }[], graceMs: number): Promise<void> {
    const running: TaskTrack[] = []
    for (const t of tasks) {
      const tr = this.tasks.get(trackKey(t.taskId, t.attempt))
      if (!tr || tr.finished) continue
      try {
        fs.unlinkSync(path.join(this.inbox, tr.entry))
        tr.finished = true
        this.tasks.delete(trackKey(tr.taskId, tr.attempt))
        this.o.events.cancelledBeforeStart(tr.taskId, tr.attempt)
      } catch {
        running.push(tr)
      }
    }
    if (running.length === 0) return
    const alive = () => {
      const pids = new Set<number>()
      for (const tr of running) {
        if (tr.pgid) for (const p of processesInGroups([tr.pgid])) pids.add(p)
        for (const p of processesWithEnv('CONTROLROOM_TASK_KEY', tr.taskKey)) pids.add(p)
      }
      return pids
    }
    const signal = (sig: NodeJS.Signals) => {
      for (const tr of running) {
        if (tr.pgid) killGroup(tr.pgid, sig)
        for (const p of processesWithEnv('CONTROLROOM_TASK_KEY', tr.taskKey))
          try {
            process.kill(p, sig)
          } catch {
            /* gone */
          }
      }
    }
    const deadline = Date.now() + graceMs
    // a claimed task may start any moment: keep signalling until everything carrying its key is gone
    while (Date.now() < deadline) {
      this.sweep()
      signal('SIGTERM')
      if (running.every((t) => t.finished) && alive().size === 0) return
      await new Promise((r) => setTimeout(r, 50))
    }
    signal('SIGKILL')
    const d2 = Date.now() + 2000
    while (Date.now() < d2 && (alive().size > 0 || !running.every((t) => t.finished))) {
      this.sweep()
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  // ---------------------------------------------------------------- close

  /**
   * detach: leave executors running (a later server adopts them). Otherwise (the run ended) each
   * executor is asked to stop once its inbox is empty; idle ones are waited for (up to 3 s).
   */
  async close(o: { detach?: boolean } = {}): Promise<void> {
    this.closed = true
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    this.sweepTimer = null
    for (const e of this.executors.values()) e.watcher?.close()
    if (o.detach) return
    const live = [...this.executors.values()].filter((e) => e.pid && isProcessAlive(e.pid, e.startTicks))
    for (const e of live) {
      try {
        writeNewFile(path.join(e.dir, 'stop'), '', this.o.runAs ?? null)
      } catch {
        /* its directory is gone */
      }
    }
    const busy = new Set([...this.tasks.values()].filter((t) => !t.finished).map((t) => t.executorId))
    const idle = live.filter((e) => !busy.has(e.id))
    // reported now, with the run's last writes (the caller may close the database right after)
    for (const e of idle)
      this.o.events.worker({ workerId: e.id, pool: this.o.pool, state: 'gone', kind: 'executor', reason: null })
    // waiting for them does not keep this process alive (a CLI exits at once; they exit on their own)
    const deadline = Date.now() + 3000
    while (Date.now() < deadline && idle.some((e) => e.child || isProcessAlive(e.pid, e.startTicks)))
      await new Promise((r) => setTimeout(r, 20).unref())
  }
}
