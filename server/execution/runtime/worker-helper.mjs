#!/usr/bin/env node
// Control Room worker helper: ONE long-lived node process per Dask worker that runs module tasks
// (TaskSpec.module: hep.* partitions) in-process, so a partition costs its I/O and arithmetic, not a
// node start and an import of the HEP runtime. Started on demand by the Dask bridge's task function
// (backends/dask/bridge.py) and registered with the worker's reaper, so it dies with its worker.
//
// JSON lines on stdin:   {"op":"run","id":T,"spec":"<taskDir>/spec.json","env":{...},"taskKey":K}
//                        {"op":"cancel","id":T}
// JSON lines on stdout:  {"id":T,"event":"started","pid":N}
//                        {"id":T,"event":"done","result":{exitCode,signal,timedOut,cancelled,error,durationMs}}
//                        {"id":T,"event":"failed","message":M}    (the spec could not be read)
// Each attempt goes through task-exec.mjs like everywhere else: started.json, logs, timeout,
// result.json in the task directory. Several tasks may run at once (the worker's threads).
// EOF on stdin: running tasks are cancelled and the helper exits.
import fs from 'node:fs'
import readline from 'node:readline'
import { startTask } from './task-exec.mjs'

const running = new Map()
const send = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`)

function run(m) {
  let spec
  try {
    spec = JSON.parse(fs.readFileSync(m.spec, 'utf8'))
    fs.mkdirSync(spec.taskDir, { recursive: true })
  } catch (e) {
    send({ id: m.id, event: 'failed', message: `cannot read the task spec ${m.spec}: ${e?.message ?? e}` })
    return
  }
  const t = startTask(spec, {
    baseEnv: m.env ?? {},
    taskKey: m.taskKey ?? null,
    onStarted: (st) => send({ id: m.id, event: 'started', pid: st.childPid ?? process.pid }),
  })
  running.set(m.id, t)
  t.done.then(
    (r) => {
      running.delete(m.id)
      send({
        id: m.id,
        event: 'done',
        result: {
          exitCode: r.exitCode,
          signal: r.signal,
          timedOut: r.timedOut,
          cancelled: r.cancelled,
          error: r.error,
          durationMs: r.durationMs,
        },
      })
      // a module function that ignored its abort signal still holds this process: leave, the
      // bridge starts a fresh helper for the next task
      if (r.stuck) process.exit(75)
    },
    (e) => {
      running.delete(m.id)
      send({ id: m.id, event: 'failed', message: `the worker helper failed: ${e?.message ?? e}` })
    },
  )
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  let m
  try {
    m = JSON.parse(line)
  } catch {
    return
  }
  if (m.op === 'run') run(m)
  else if (m.op === 'cancel') running.get(m.id)?.stop('cancel')
})
rl.on('close', () => {
  for (const t of running.values()) t.stop('cancel')
  Promise.allSettled([...running.values()].map((t) => t.done)).then(() => process.exit(0))
})
process.on('SIGHUP', () => {})
