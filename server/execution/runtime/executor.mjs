#!/usr/bin/env node
// Control Room warm executor: `node executor.mjs --pool-dir <runDir>/executors/<pool> --id <executorId>`
//
// A long-lived, detached process (one per worker slot of a pool) that runs the pool's tasks one after
// another without a process start of its own per task: it takes task entries from the pool's spool
// directory, runs each attempt (task-exec.mjs: command or JS module, logs, timeout, result.json) and
// reports on an append-only line file. It does not depend on the server: after a server restart the
// server re-reads the report files and goes on with the same executors.
//
// Why a spool directory and not a unix socket: an entry is durable the moment it is renamed into the
// inbox (a server killed right after dispatch loses nothing, and a new server needs no handshake to
// find what was handed over); an idle executor claims the oldest entry with one atomic rename, so the
// pool balances itself without the server choosing an executor; access is the run directory's
// permissions (owned by the run's OS user, 0700), with no socket path length limit; inotify (fs.watch)
// wakes the executor at once, a 1 s re-scan covers a missed event.
//
//   <pool-dir>/inbox/<seq>-<taskId>.<attempt>.json    {specPath, taskKey}: written by the server (tmp + rename)
//   <pool-dir>/<id>/claimed/<entry>                    taken by this executor (rename: exactly one wins)
//   <pool-dir>/<id>/events.jsonl                       one JSON object a line: hello, started, finished, bye
//   <pool-dir>/<id>/stop                               the run ended: exit once the inbox is empty
//
// The executor exits when asked to stop and idle, on SIGTERM (killing its current task), or after
// CONTROLROOM_EXECUTOR_IDLE_MS (default 120 s) without work: whatever finished meanwhile stays readable.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { KILL_GRACE_MS, killTask, startTask, statFields } from './task-exec.mjs'

function argValue(name) {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const poolDir = argValue('--pool-dir')
const id = argValue('--id')
if (!poolDir || !id) {
  process.stderr.write('usage: executor.mjs --pool-dir <dir> --id <executorId>\n')
  process.exit(2)
}
const IDLE_MS = Number(process.env.CONTROLROOM_EXECUTOR_IDLE_MS || 120_000)
const inbox = path.join(poolDir, 'inbox')
const home = path.join(poolDir, id)
const claimedDir = path.join(home, 'claimed')
fs.mkdirSync(claimedDir, { recursive: true })
const eventsFd = fs.openSync(path.join(home, 'events.jsonl'), 'a')

// the task's base environment: ours (already built from the allow-list by the server) without the
// executor's own settings
const baseEnv = {}
for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CONTROLROOM_EXECUTOR_')) baseEnv[k] = v

// A reserve of disk space (64 KiB): when a task's log fills the disk, it is released so the task's
// result and this executor's report can still be written (the run goes on), then taken back.
const reservePath = path.join(home, 'reserve')
function takeReserve() {
  try {
    if (!fs.existsSync(reservePath)) fs.writeFileSync(reservePath, Buffer.alloc(64 * 1024))
  } catch {
    fs.rmSync(reservePath, { force: true })
  }
}
function releaseReserve() {
  if (!fs.existsSync(reservePath)) return false
  fs.rmSync(reservePath, { force: true })
  return true
}
takeReserve()

function report(obj) {
  const line = `${JSON.stringify({ v: 1, ...obj })}\n`
  try {
    fs.writeSync(eventsFd, line)
  } catch (e) {
    if (e?.code !== 'ENOSPC' || !releaseReserve()) throw e
    fs.writeSync(eventsFd, line)
  }
}

const self = statFields(process.pid)
report({
  t: 'hello',
  id,
  pid: process.pid,
  startTicks: self ? Number(self[19]) : null,
  host: os.hostname(),
  at: new Date().toISOString(),
})

let current = null
let lastWork = Date.now()
let stopping = false
let wake = null

// The inbox as last listed, oldest first. Entries are named by the time they were written, so a
// later entry never sorts before ones still listed: the list is taken from the front and the
// inbox listed again only when it is used up (one readdir per several tasks, not per task).
let listed = []
function nextEntry() {
  let fresh = false
  for (let pass = 0; pass < 2 && !(pass === 1 && fresh); pass++) {
    if (listed.length === 0 || pass === 1) {
      fresh = true
      try {
        listed = fs
          .readdirSync(inbox)
          .filter((n) => n.endsWith('.json'))
          .sort()
      } catch {
        listed = []
        return null
      }
    }
    while (listed.length) {
      const n = listed.shift()
      try {
        fs.renameSync(path.join(inbox, n), path.join(claimedDir, n))
        return n
      } catch {
        /* another executor took it, or the server withdrew it (cancel) */
      }
    }
  }
  return null
}

async function runEntry(name) {
  const file = path.join(claimedDir, name)
  let entry
  let spec
  try {
    entry = JSON.parse(fs.readFileSync(file, 'utf8'))
    if (entry.version === 1 && entry.taskDir) {
      // the entry is the spec: it becomes <taskDir>/spec.json (a hard link, no copy)
      spec = entry
      entry = { taskKey: spec.env?.CONTROLROOM_TASK_KEY ?? null }
      const specPath = path.join(spec.taskDir, 'spec.json')
      try {
        fs.mkdirSync(spec.taskDir, { mode: 0o700 })
      } catch (e) {
        if (e?.code !== 'EEXIST') fs.mkdirSync(spec.taskDir, { recursive: true, mode: 0o700 })
        else fs.rmSync(specPath, { force: true }) // a later attempt: the earlier attempt's spec goes
      }
      fs.linkSync(file, specPath)
    } else spec = JSON.parse(fs.readFileSync(entry.specPath, 'utf8'))
  } catch (e) {
    const m = /^[^-]+-(.+)\.(\d+)\.json$/.exec(name)
    report({
      t: 'failed',
      taskId: m?.[1] ?? name,
      attempt: Number(m?.[2] ?? 0),
      reason: `the executor could not read the task: ${e.message}`,
    })
    fs.rmSync(file, { force: true })
    return
  }
  const run = startTask(spec, {
    baseEnv,
    taskKey: entry.taskKey,
    onNoSpace: releaseReserve,
    onStarted: (st) =>
      report({
        t: 'started',
        taskId: spec.taskId,
        attempt: spec.attempt,
        pid: st.childPid ?? process.pid,
        pgid: st.childPid ?? null,
        at: st.at,
      }),
  })
  current = { spec, entry, run }
  let result
  try {
    result = await run.done
  } catch (e) {
    result = null
    report({
      t: 'failed',
      taskId: spec.taskId,
      attempt: spec.attempt,
      reason: `the executor failed: ${e?.message ?? e}`,
    })
  }
  current = null
  if (result) {
    const stuck = result.stuck
    delete result.stuck
    report({ t: 'finished', taskId: spec.taskId, attempt: spec.attempt, result })
    if (stuck) {
      // a module function that ignores its abort signal still holds this process: replace it
      report({ t: 'bye', reason: 'a module task did not stop when asked' })
      process.exit(75)
    }
  }
  fs.rmSync(file, { force: true })
  takeReserve()
}

function isStopRequested() {
  return stopping || fs.existsSync(path.join(home, 'stop'))
}

async function loop() {
  let watcher = null
  try {
    watcher = fs.watch(inbox, () => wake?.())
  } catch {
    /* polling only */
  }
  try {
    fs.watch(home, (_e, f) => f === 'stop' && wake?.())
  } catch {
    /* polling only */
  }
  for (;;) {
    // a stop request drains the inbox first (the run ended: normally nothing is left); SIGTERM does not
    const name = stopping ? null : nextEntry()
    if (name) {
      await runEntry(name)
      lastWork = Date.now()
      continue
    }
    if (isStopRequested() || Date.now() - lastWork > IDLE_MS) break
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 1000)
      wake = () => {
        clearTimeout(t)
        wake = null
        resolve()
      }
    })
  }
  watcher?.close()
  report({ t: 'bye', reason: isStopRequested() ? 'stopped' : 'idle' })
  process.exit(0)
}

function shutdown() {
  stopping = true
  if (current) {
    current.run.stop('cancel')
    // the current attempt reports its result, then the loop exits; never hang on it
    setTimeout(() => {
      if (current) killTask(null, current.entry.taskKey, 'SIGKILL')
      process.exit(0)
    }, KILL_GRACE_MS + 2000).unref()
  }
  wake?.()
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
process.on('SIGHUP', () => {}) // detached: a closing terminal is not a reason to stop

loop().catch((e) => {
  try {
    report({ t: 'bye', reason: `executor crashed: ${e?.stack ?? e}` })
  } catch {
    /* nothing left to report on */
  }
  process.exit(70)
})
