// Control Room: one attempt of one task, shared by the warm executor (executor.mjs) and the one-shot
// runner (runner.mjs). Plain ESM with no dependencies (it runs as other OS users and on batch nodes).
//
// For a command (spec.argv): started.json, the command in its own session/process group with its
// stdout/stderr appended to the log files, the timeout, and on cancel / timeout every process that
// carries the attempt's CONTROLROOM_TASK_KEY (found in /proc/*/environ: catches `setsid` escapees)
// besides the process group. For a module task (spec.module): the function imported once per process
// and called with (spec, ctx). Both end with result.json written atomically (tmp + rename).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { logClock } from './log-times.mjs'

export const KILL_GRACE_MS = Number(process.env.CONTROLROOM_KILL_GRACE_MS || 3000)
/** Node clamps timers above 2^31-1 ms to 1 ms: longer delays are chained */
const MAX_TIMER_MS = 2 ** 31 - 1

/** setTimeout for any delay (a 25-day timeout must not fire at once); returns a cancel function */
export function setLongTimeout(fn, ms) {
  let t = null
  const due = Date.now() + ms
  const arm = () => {
    const left = due - Date.now()
    if (left <= 0) return fn()
    t = setTimeout(arm, Math.min(left, MAX_TIMER_MS))
    t.unref?.()
  }
  arm()
  return () => t && clearTimeout(t)
}

export function writeJsonAtomic(file, value) {
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(value))
  fs.renameSync(tmp, file)
}

export function statFields(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return s.slice(s.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}
export const startTicksOf = (pid) => {
  const f = statFields(pid)
  return f ? Number(f[19]) : null
}

export function killGroup(pgid, sig) {
  if (!pgid || pgid <= 1) return false
  try {
    process.kill(-pgid, sig)
    return true
  } catch {
    return false
  }
}

/** pids of live processes whose environment holds CONTROLROOM_TASK_KEY=<key> */
export function processesWithKey(key) {
  const needle = Buffer.from(`CONTROLROOM_TASK_KEY=${key}\0`)
  const out = []
  let names = []
  try {
    names = fs.readdirSync('/proc')
  } catch {
    return out
  }
  for (const d of names) {
    const c = d.charCodeAt(0)
    if (c < 48 || c > 57 || Number(d) === process.pid) continue
    try {
      const env = fs.readFileSync(`/proc/${d}/environ`)
      if (env.indexOf(needle) === 0 || env.includes(Buffer.concat([Buffer.from('\0'), needle]))) {
        const f = statFields(Number(d))
        if (f && f[0] !== 'Z' && f[0] !== 'X') out.push(Number(d))
      }
    } catch {
      /* gone or not readable */
    }
  }
  return out
}

/** signal a task's process group and every process carrying its key */
export function killTask(pgid, key, sig) {
  killGroup(pgid, sig)
  if (key) for (const pid of processesWithKey(key)) killPid(pid, sig)
}
function killPid(pid, sig) {
  try {
    process.kill(pid, sig)
  } catch {
    /* gone */
  }
}

/** resident memory (bytes) of every live process in a process group */
function groupRss(pgid) {
  let total = 0
  let hwm = 0
  try {
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue
      const f = statFields(Number(d))
      if (!f || Number(f[2]) !== pgid) continue
      try {
        const st = fs.readFileSync(`/proc/${d}/status`, 'utf8')
        const rss = /VmRSS:\s+(\d+) kB/.exec(st)
        const h = /VmHWM:\s+(\d+) kB/.exec(st)
        if (rss) total += Number(rss[1]) * 1024
        if (h) hwm = Math.max(hwm, Number(h[1]) * 1024)
      } catch {
        /* exited */
      }
    }
  } catch {
    /* no /proc */
  }
  return Math.max(total, hwm)
}

const SECRET_RE = /TOKEN|SECRET|PASSWORD|PASSWD|PROXY|KEY|CREDENTIAL|COOKIE|AUTH/i
function diagnostics(spec, env) {
  const shown = {}
  for (const [k, v] of Object.entries(env)) {
    if (SECRET_RE.test(k)) continue
    shown[k] = typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v
  }
  let user = null
  try {
    user = os.userInfo().username
  } catch {
    /* no passwd entry */
  }
  return {
    host: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    loadavg: os.loadavg(),
    totalMemoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    node: process.version,
    user,
    cwd: spec.cwd,
    env: shown,
  }
}

/** the host name, read once (it is a system call per use) */
const HOST = os.hostname()

/** a file's text, or null when it does not exist (most tasks write no outputs or metrics file:
 * a stat that says so is cheaper than the ENOENT error a read would throw) */
function readIfExists(file) {
  if (!fs.existsSync(file)) return null
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (e) {
    if (e?.code === 'ENOENT') return null
    throw e
  }
}

const modules = new Map()
/** a module task's function: imported once per process */
async function moduleFunction(mod) {
  const key = `${mod.path}#${mod.export}`
  let fn = modules.get(key)
  if (!fn) {
    const m = await import(pathToFileURL(mod.path).href)
    fn = m[mod.export || 'default']
    if (typeof fn !== 'function') throw new Error(`${mod.path} has no exported function '${mod.export}'`)
    modules.set(key, fn)
  }
  return fn
}

function noSpaceMessage(e, file) {
  return e?.code === 'ENOSPC'
    ? `no space left on the device for the task's files (${file}): free disk space, then retry the task`
    : `cannot write ${file}: ${e?.message ?? e}`
}

/**
 * Starts one attempt. Returns { done: Promise<result>, stop(why), pgid(), childPid() }.
 * opts: { baseEnv, taskKey, onStarted(started), onNoSpace(): boolean (frees space, true if it did) }
 */
export function startTask(spec, opts) {
  const metricsPath = path.join(spec.taskDir, `.metrics.${spec.attempt}.json`)
  const env = {
    ...opts.baseEnv,
    ...spec.env,
    CONTROLROOM_RUN_ID: spec.runId,
    CONTROLROOM_TASK_ID: spec.taskId,
    CONTROLROOM_STAGE_ID: spec.stageId,
    CONTROLROOM_ATTEMPT: String(spec.attempt),
    CONTROLROOM_TASK_DIR: spec.taskDir,
    CONTROLROOM_RUN_DIR: spec.runDir,
    CONTROLROOM_OUTPUTS: spec.outputsPath,
    CONTROLROOM_METRICS: metricsPath,
    ...(opts.taskKey ? { CONTROLROOM_TASK_KEY: opts.taskKey } : {}),
  }
  const t0 = Date.now()
  const startedAt = new Date(t0).toISOString()
  const state = {
    timedOut: false,
    cancelled: false,
    logFailed: false,
    child: null,
    childPgid: null,
    abort: null,
    settle: null,
  }
  const selfStat = statFields(process.pid)
  const cuBefore = selfStat ? Number(selfStat[13]) : 0
  const csBefore = selfStat ? Number(selfStat[14]) : 0
  let cancelTimer = null

  const stop = (why) => {
    if (state.timedOut || state.cancelled) return
    if (why === 'timeout') state.timedOut = true
    else state.cancelled = true
    if (state.abort) {
      state.abort.abort(why)
      // a function that ignores the signal: the result is written and the caller may drop the process
      const t = setTimeout(() => state.settle?.({ exitCode: null, signal: 'SIGKILL', stuck: true }), KILL_GRACE_MS)
      t.unref?.()
      return
    }
    killTask(state.childPgid, opts.taskKey, 'SIGTERM')
    cancelTimer = setTimeout(() => killTask(state.childPgid, opts.taskKey, 'SIGKILL'), KILL_GRACE_MS)
    cancelTimer.unref?.()
  }

  const done = (async () => {
    // keep the previous attempt's result (a first attempt has none: no look, no thrown ENOENT)
    if (spec.attempt > 0)
      try {
        const prev = JSON.parse(fs.readFileSync(spec.resultPath, 'utf8'))
        if (prev.attempt !== spec.attempt)
          fs.renameSync(spec.resultPath, spec.resultPath.replace(/\.json$/, `.${prev.attempt}.json`))
      } catch {
        /* none */
      }
    const started = {
      taskId: spec.taskId,
      attempt: spec.attempt,
      pid: process.pid,
      pgid: selfStat ? Number(selfStat[2]) : process.pid,
      startTicks: selfStat ? Number(selfStat[19]) : null,
      childPid: null,
      childStartTicks: null,
      host: HOST,
      at: startedAt,
    }
    let exitCode = null
    let signal = null
    let error = null
    let peakRss = 0
    let extraMetrics = null
    let returnedOutputs = null
    let stuck = false
    // a module's logs are created on its first byte, a command's are removed again when it wrote
    // nothing (a quiet task has no log files); a write that fails (no space left) fails the task with
    // that reason and stops it: it cannot be followed any more
    const mark = spec.attempt > 0 ? `--- controlroom: attempt ${spec.attempt + 1} at ${startedAt} ---\n` : ''
    const onLogError = (e, file) => {
      if (error) return
      error = noSpaceMessage(e, file)
      stop('cancel')
      state.logFailed = true
    }
    const clock = logClock(spec.taskDir) // a time per line, in log-times.tsv beside the logs
    let cmdLogs = null
    const out = lazyLog(spec.stdoutPath, mark, onLogError, (fd, n) => clock.note('stdout', fd, n))
    const err = lazyLog(spec.stderrPath, mark, onLogError, (fd, n) => clock.note('stderr', fd, n))
    try {
      let timer = null
      if (spec.timeoutSeconds && spec.timeoutSeconds > 0)
        timer = setLongTimeout(() => stop('timeout'), spec.timeoutSeconds * 1000)
      if (spec.module) {
        writeStarted(spec, started)
        opts.onStarted?.(started)
        const ac = new AbortController()
        state.abort = ac
        const ctx = {
          stdout: (s) => out.write(String(s)),
          stderr: (s) => err.write(String(s)),
          signal: ac.signal,
          env,
          metricsPath,
        }
        const r = await new Promise((resolve) => {
          state.settle = resolve
          Promise.resolve()
            .then(async () => (await moduleFunction(spec.module))(spec, ctx))
            .then(
              (ret) => resolve({ ret }),
              (e) => resolve({ err: e }),
            )
        })
        if (r.stuck) {
          stuck = true
          signal = 'SIGKILL'
          error = `the module function did not return within ${KILL_GRACE_MS} ms of being stopped`
        } else if (r.err) {
          exitCode = 1
          error = r.err?.code === 'ENOSPC' ? noSpaceMessage(r.err, spec.taskDir) : String(r.err?.message ?? r.err)
          err.write(`${r.err?.stack ?? r.err}\n`)
        } else {
          exitCode = Number.isInteger(r.ret?.exitCode) ? r.ret.exitCode : 0
          if (r.ret?.metrics) extraMetrics = r.ret.metrics
          if (r.ret?.outputs) returnedOutputs = r.ret.outputs
        }
        if (state.cancelled || state.timedOut) {
          if (exitCode === 0) exitCode = null
          signal = signal ?? 'SIGTERM'
        }
      } else if (!spec.argv || spec.argv.length === 0) {
        writeStarted(spec, started)
        opts.onStarted?.(started)
        exitCode = 0
      } else {
        // the command writes its logs itself (no pipes through this process: a spawn with pipes
        // costs about twice one without); taskLogs() times what it writes from the file's growth
        const logs = (cmdLogs = taskLogs(spec, mark, clock, (file) =>
          onLogError(Object.assign(new Error('no space left on the device'), { code: 'ENOSPC' }), file),
        ))
        let child = null
        try {
          child = spawn(spec.argv[0], spec.argv.slice(1), {
            cwd: spec.cwd,
            env,
            stdio: ['ignore', logs.out.fd, logs.err.fd],
            detached: true,
          })
        } catch (e) {
          error = `cannot start ${spec.argv[0]}: ${e.message}`
          exitCode = 126
        }
        if (child) {
          state.child = child
          state.childPgid = child.pid ?? null
          const exited = new Promise((resolve) => {
            child.once('error', (e) => {
              error =
                e.code === 'ENOENT'
                  ? `command not found: ${spec.argv[0]} (cwd ${spec.cwd})`
                  : `cannot start ${spec.argv[0]}: ${e.message}`
              exitCode = e.code === 'ENOENT' ? 127 : 126
              resolve()
            })
            child.once('exit', (code, sig) => {
              exitCode = code
              signal = sig
              resolve()
            })
          })
          if (child.pid) {
            started.childPid = child.pid
            started.childStartTicks = startTicksOf(child.pid)
          }
          writeStarted(spec, started)
          opts.onStarted?.(started)
          if (state.cancelled || state.timedOut) killTask(state.childPgid, opts.taskKey, 'SIGTERM')
          let sampler = null
          const sampleMs = spec.collect?.rssSampleMs || 0
          if (sampleMs > 0 && child.pid) {
            const sample = () => {
              peakRss = Math.max(peakRss, groupRss(child.pid))
            }
            sample()
            sampler = setInterval(sample, sampleMs)
          }
          await exited
          if (sampler) clearInterval(sampler)
          // whatever the command left in its group goes with it; escapees (setsid) too when it was stopped
          if (child.pid) killGroup(child.pid, 'SIGKILL')
          if ((state.cancelled || state.timedOut) && opts.taskKey) killTask(null, opts.taskKey, 'SIGKILL')
          logs.finish()
        } else {
          logs.finish()
          writeStarted(spec, started)
          opts.onStarted?.(started)
        }
      }
      if (timer) timer()
      if (cancelTimer) clearTimeout(cancelTimer)
    } catch (e) {
      if (!e?.setup) throw e
      if (state.childPgid) killTask(state.childPgid, opts.taskKey, 'SIGKILL')
      writeStartedQuiet(spec, started)
      opts.onStarted?.(started)
      error = e.message
      exitCode = 1
    } finally {
      out.close()
      err.close()
      cmdLogs?.finish()
      clock.close()
    }
    if (state.logFailed) {
      // stopped because its log could not be written: a failure with that reason, not a cancel
      state.cancelled = false
      if (exitCode === 0 || exitCode === null) exitCode = 1
    }

    const t1 = Date.now()
    const metrics = { wallMs: t1 - t0 }
    const self = statFields(process.pid)
    if (self && !spec.module) {
      // cutime / cstime: the children waited for during this attempt (one task at a time per process)
      metrics.cpuUserMs = ((Number(self[13]) - cuBefore) * 1000) / 100
      metrics.cpuSystemMs = ((Number(self[14]) - csBefore) * 1000) / 100
    }
    if (peakRss) metrics.peakRssBytes = peakRss
    if (extraMetrics) Object.assign(metrics, extraMetrics)
    const written = readIfExists(metricsPath)
    if (written !== null)
      try {
        Object.assign(metrics, JSON.parse(written))
        fs.rmSync(metricsPath, { force: true })
      } catch {
        /* not JSON: ignored */
      }
    if (spec.collect?.profile) metrics.runtimeRssBytes = process.memoryUsage().rss
    if (spec.collect?.diagnostics) metrics.diagnostics = diagnostics(spec, env)

    let outputs = returnedOutputs
    try {
      const text = readIfExists(spec.outputsPath)
      if (text !== null) outputs = JSON.parse(text)
    } catch (e) {
      error = error ?? `outputs.json is not valid JSON: ${e.message}`
    }
    const result = {
      version: 1,
      taskId: spec.taskId,
      attempt: spec.attempt,
      exitCode,
      signal,
      timedOut: state.timedOut,
      cancelled: state.cancelled,
      startedAt,
      finishedAt: new Date(t1).toISOString(),
      durationMs: t1 - t0,
      metrics,
      outputs,
      error,
      host: HOST,
      pid: process.pid,
    }
    try {
      try {
        writeJsonAtomic(spec.resultPath, result)
      } catch (e) {
        // the disk is full: the executor frees its reserve so the outcome can still be written
        if (e?.code !== 'ENOSPC' || !opts.onNoSpace?.()) throw e
        writeJsonAtomic(spec.resultPath, result)
      }
    } catch (e) {
      // the reporter still learns the outcome (the executor's event line); the file is best effort
      result.error = result.error ?? noSpaceMessage(e, spec.resultPath)
      if (result.exitCode === 0) result.exitCode = 1
    }
    result.stuck = stuck || undefined
    return result
  })()
  return { done, stop }
}

/** a log file opened on the first write (with the attempt marker first); errors go to onError once */
function lazyLog(file, mark, onError, noteWrite) {
  let fd = null
  let failed = false
  return {
    write(data) {
      if (failed) return
      try {
        if (fd === null) {
          fd = fs.openSync(file, 'a')
          if (mark) fs.writeSync(fd, mark)
        }
        noteWrite(fd, typeof data === 'string' ? Buffer.byteLength(data) : data.length)
        fs.writeSync(fd, data)
      } catch (e) {
        failed = true
        if (e?.code === 'ENOSPC' && fd !== null) {
          // this log filled the disk: give back its last 256 KiB (with a note) so the run goes on
          try {
            const size = fs.fstatSync(fd).size
            fs.ftruncateSync(fd, Math.max(0, size - 256 * 1024))
            fs.writeSync(fd, '\n--- controlroom: no space left on the device: the end of this log was dropped ---\n')
          } catch {
            /* nothing more can be done here */
          }
        }
        onError(e, file)
      }
    },
    close() {
      if (fd !== null)
        try {
          fs.closeSync(fd)
        } catch {
          /* closed */
        }
      fd = null
    },
  }
}

/**
 * The two log files of a command, opened here and handed to it as its stdout and stderr. Their
 * growth is watched (inotify, through fs.watch): each growth seen is a chunk with the time it was
 * seen in log-times.tsv, as timely as reading a pipe would be (both wait for this event loop). A
 * growth that leaves the file system full calls onFull(file): the command is stopped there, as a
 * failed write to a pipe's log would have stopped it. `finish()`, once the command is gone: the last
 * growth, the end of a log that filled the disk given back (with a note), and a log the command left
 * empty removed again (a quiet task has no log files) with the attempt marker written for it.
 */
function taskLogs(spec, mark, clock, onFull) {
  const open = (file, stream) => {
    let fd
    try {
      fd = fs.openSync(file, 'a')
      const before = fs.fstatSync(fd).size
      if (mark) fs.writeSync(fd, mark)
      return {
        file,
        stream,
        fd,
        before,
        base: before + Buffer.byteLength(mark),
        seen: before + Buffer.byteLength(mark),
      }
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd)
      throw Object.assign(new Error(noSpaceMessage(e, file)), { setup: true })
    }
  }
  const out = open(spec.stdoutPath, 'stdout')
  let err
  try {
    err = open(spec.stderrPath, 'stderr')
  } catch (e) {
    fs.closeSync(out.fd)
    throw e
  }
  let full = null
  let finished = false
  const grew = (log) => {
    let size
    try {
      size = fs.fstatSync(log.fd).size
    } catch {
      return
    }
    if (size < log.seen) log.seen = size // rewritten by the task
    if (size === log.seen) return
    clock.chunk(log.stream, log.seen)
    log.seen = size
    if (full || !diskFull(path.dirname(log.file))) return
    full = log
    onFull(log.file)
  }
  const watchers = []
  for (const dir of new Set([path.dirname(out.file), path.dirname(err.file)]))
    try {
      const names = new Map(
        [out, err].filter((l) => path.dirname(l.file) === dir).map((l) => [path.basename(l.file), l]),
      )
      const w = fs.watch(dir, (_ev, name) => {
        const log = name && names.get(String(name))
        if (log) grew(log)
      })
      w.on('error', () => {})
      watchers.push(w)
    } catch {
      /* no inotify: the logs are still whole; their lines take the attempt's start time */
    }
  return {
    out,
    err,
    finish() {
      if (finished) return
      finished = true
      for (const w of watchers) w.close()
      for (const log of [out, err]) {
        grew(log)
        try {
          if (log === full) {
            // this log filled the disk: give back its last 256 KiB (with a note) so the run goes on
            const size = fs.fstatSync(log.fd).size
            fs.ftruncateSync(log.fd, Math.max(log.base, size - 256 * 1024))
            fs.writeSync(
              log.fd,
              '\n--- controlroom: no space left on the device: the end of this log was dropped ---\n',
            )
          } else if (log.seen === log.base) {
            if (log.before === 0) fs.unlinkSync(log.file)
            else if (mark) fs.ftruncateSync(log.fd, log.before)
          }
        } catch {
          /* nothing more can be done here */
        }
        try {
          fs.closeSync(log.fd)
        } catch {
          /* closed */
        }
      }
    },
  }
}

/** less than one block left for this process on the file system holding `dir` */
function diskFull(dir) {
  try {
    const st = fs.statfsSync(dir)
    const blocks = process.getuid?.() === 0 ? st.bfree : st.bavail
    return blocks < 1
  } catch {
    return false
  }
}

function writeStarted(spec, started) {
  const file = path.join(spec.taskDir, 'started.json')
  try {
    fs.writeFileSync(file, JSON.stringify(started))
  } catch (e) {
    throw Object.assign(new Error(noSpaceMessage(e, file)), { setup: true })
  }
}
function writeStartedQuiet(spec, started) {
  try {
    writeStarted(spec, started)
  } catch {
    /* disk full */
  }
}
