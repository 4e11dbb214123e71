#!/usr/bin/env node
// Control Room task runtime: `node runner.mjs --spec <taskDir>/spec.json`
//
// Plain ESM JavaScript with no dependencies so it starts in ~50 ms on any node (no transpiler) and
// can run on a batch node that only sees the run directory. It
//   1. writes started.json (its pid, process group, /proc start ticks, the command's pid),
//   2. runs spec.argv in its own process group with stdout/stderr going straight to the log files
//      (appended; attempt > 0 starts with a marker line), so nothing depends on the server being alive,
//   3. enforces spec.timeoutSeconds (SIGTERM, then SIGKILL after a grace period, whole group),
//   4. forwards SIGTERM/SIGINT (cancel) to the command's group,
//   5. after the command exits, kills what it left behind in its group (no orphans),
//   6. writes result.json atomically (tmp + rename): exit code, signal, metrics, outputs.
// Its own exit code is the command's (128 + signal number when killed).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const KILL_GRACE_MS = Number(process.env.CONTROLROOM_KILL_GRACE_MS || 3000)
const SECRET_RE = /TOKEN|SECRET|PASSWORD|PASSWD|PROXY|KEY|CREDENTIAL|COOKIE|AUTH/i

function argValue(name) {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

function writeJsonAtomic(file, value) {
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2))
  fs.renameSync(tmp, file)
}

function statFields(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return s.slice(s.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}
const startTicks = (pid) => {
  const f = statFields(pid)
  return f ? Number(f[19]) : null
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

function killGroup(pgid, sig) {
  try {
    process.kill(-pgid, sig)
    return true
  } catch {
    return false
  }
}

function diagnostics(spec) {
  const env = {}
  for (const [k, v] of Object.entries({ ...process.env, ...spec.env })) {
    if (SECRET_RE.test(k)) continue
    env[k] = typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v
  }
  return {
    host: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    loadavg: os.loadavg(),
    totalMemoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    node: process.version,
    user: (() => {
      try {
        return os.userInfo().username
      } catch {
        return null
      }
    })(),
    cwd: spec.cwd,
    env,
  }
}

async function main() {
  const specPath = argValue('--spec')
  if (!specPath) {
    process.stderr.write('usage: runner.mjs --spec <taskDir>/spec.json\n')
    process.exit(2)
  }
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'))
  fs.mkdirSync(spec.taskDir, { recursive: true })

  // keep the previous attempt's result
  try {
    const prev = JSON.parse(fs.readFileSync(spec.resultPath, 'utf8'))
    if (prev.attempt !== spec.attempt)
      fs.renameSync(spec.resultPath, spec.resultPath.replace(/\.json$/, `.${prev.attempt}.json`))
  } catch {
    /* none */
  }

  const outFd = fs.openSync(spec.stdoutPath, 'a')
  const errFd = fs.openSync(spec.stderrPath, 'a')
  if (spec.attempt > 0) {
    const mark = `--- controlroom: attempt ${spec.attempt + 1} at ${new Date().toISOString()} ---\n`
    fs.writeSync(outFd, mark)
    fs.writeSync(errFd, mark)
  }

  const t0 = Date.now()
  const startedAt = new Date(t0).toISOString()
  const selfStat = statFields(process.pid)
  const started = {
    taskId: spec.taskId,
    attempt: spec.attempt,
    pid: process.pid,
    pgid: selfStat ? Number(selfStat[2]) : process.pid,
    startTicks: selfStat ? Number(selfStat[19]) : null,
    childPid: null,
    childStartTicks: null,
    host: os.hostname(),
    at: startedAt,
  }

  let exitCode = null
  let signal = null
  let error = null
  let timedOut = false
  let cancelled = false
  let peakRss = 0
  const metricsPath = path.join(spec.taskDir, `.metrics.${spec.attempt}.json`)

  if (!spec.argv || spec.argv.length === 0) {
    writeJsonAtomic(path.join(spec.taskDir, 'started.json'), started)
    exitCode = 0
  } else {
    const env = {
      ...process.env,
      ...spec.env,
      CONTROLROOM_RUN_ID: spec.runId,
      CONTROLROOM_TASK_ID: spec.taskId,
      CONTROLROOM_STAGE_ID: spec.stageId,
      CONTROLROOM_ATTEMPT: String(spec.attempt),
      CONTROLROOM_TASK_DIR: spec.taskDir,
      CONTROLROOM_RUN_DIR: spec.runDir,
      CONTROLROOM_OUTPUTS: spec.outputsPath,
      CONTROLROOM_METRICS: metricsPath,
    }
    let child
    try {
      fs.mkdirSync(spec.cwd, { recursive: true })
      child = spawn(spec.argv[0], spec.argv.slice(1), {
        cwd: spec.cwd,
        env,
        stdio: ['ignore', outFd, errFd],
        detached: true,
      })
    } catch (e) {
      error = `cannot start ${spec.argv[0]}: ${e.message}`
    }
    if (child) {
      const childPgid = child.pid
      const done = new Promise((resolve) => {
        child.once('error', (e) => {
          error =
            e.code === 'ENOENT' ? `command not found: ${spec.argv[0]}` : `cannot start ${spec.argv[0]}: ${e.message}`
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
        started.childStartTicks = startTicks(child.pid)
      }
      writeJsonAtomic(path.join(spec.taskDir, 'started.json'), started)

      const stop = (why) => {
        if (why === 'timeout') timedOut = true
        else cancelled = true
        killGroup(childPgid, 'SIGTERM')
        setTimeout(() => killGroup(childPgid, 'SIGKILL'), KILL_GRACE_MS).unref()
      }
      process.on('SIGTERM', () => stop('cancel'))
      process.on('SIGINT', () => stop('cancel'))
      process.on('SIGHUP', () => stop('cancel'))
      let timer = null
      if (spec.timeoutSeconds && spec.timeoutSeconds > 0)
        timer = setTimeout(() => stop('timeout'), spec.timeoutSeconds * 1000)
      let sampler = null
      const sampleMs = spec.collect?.rssSampleMs || 0
      if (sampleMs > 0 && child.pid) {
        const sample = () => {
          peakRss = Math.max(peakRss, groupRss(childPgid))
        }
        sample()
        sampler = setInterval(sample, sampleMs)
      }
      await done
      if (timer) clearTimeout(timer)
      if (sampler) clearInterval(sampler)
      // whatever the command left in its group (background jobs) goes with it
      if (child.pid) killGroup(childPgid, 'SIGKILL')
    } else {
      writeJsonAtomic(path.join(spec.taskDir, 'started.json'), started)
      exitCode = 126
    }
  }
  fs.closeSync(outFd)
  fs.closeSync(errFd)

  const t1 = Date.now()
  const self = statFields(process.pid)
  const ticks = 100 // USER_HZ on Linux
  const metrics = { wallMs: t1 - t0 }
  if (self) {
    metrics.cpuUserMs = (Number(self[13]) * 1000) / ticks // cutime: the waited-for command
    metrics.cpuSystemMs = (Number(self[14]) * 1000) / ticks // cstime
  }
  if (peakRss) metrics.peakRssBytes = peakRss
  try {
    Object.assign(metrics, JSON.parse(fs.readFileSync(metricsPath, 'utf8')))
    fs.rmSync(metricsPath, { force: true })
  } catch {
    /* the command wrote none */
  }
  if (spec.collect?.profile) {
    metrics.runtimeRssBytes = process.memoryUsage().rss
  }
  if (spec.collect?.diagnostics) metrics.diagnostics = diagnostics(spec)

  let outputs = null
  try {
    outputs = JSON.parse(fs.readFileSync(spec.outputsPath, 'utf8'))
  } catch (e) {
    if (e.code !== 'ENOENT') error = error ?? `outputs.json is not valid JSON: ${e.message}`
  }

  const result = {
    version: 1,
    taskId: spec.taskId,
    attempt: spec.attempt,
    exitCode,
    signal,
    timedOut,
    cancelled,
    startedAt,
    finishedAt: new Date(t1).toISOString(),
    durationMs: t1 - t0,
    metrics,
    outputs,
    error,
    host: os.hostname(),
    pid: process.pid,
  }
  writeJsonAtomic(spec.resultPath, result)
  const sigNum = signal ? os.constants.signals[signal] || 1 : 0
  process.exit(exitCode ?? (sigNum ? 128 + sigNum : 1))
}

main().catch((e) => {
  process.stderr.write(`controlroom runtime: ${e?.stack || e}\n`)
  process.exit(70)
})
