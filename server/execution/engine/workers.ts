/** The backend's reports of its workers (executors, slots, batch jobs): Worker rows and their events. */
import os from 'node:os'
import type { WorkerPatch } from '../store.ts'
import { checkTransition, type WorkerUpdate } from '../types.ts'
import type { ActiveRun, EngineCore } from './model.ts'

export function onWorkerUpdate(e: EngineCore, run: ActiveRun, u: WorkerUpdate) {
  const cur = run.workers.get(u.workerId)
  const patch: WorkerPatch = {}
  if (u.batchJobId !== undefined) patch.batchJobId = u.batchJobId
  if (u.host !== undefined) patch.host = u.host
  if (u.pid !== undefined) patch.pid = u.pid
  if (u.reason !== undefined) patch.reason = u.reason
  if (u.currentTaskId !== undefined) patch.currentTaskId = u.currentTaskId
  if (!cur) {
    run.workers.set(u.workerId, { state: u.state, pool: u.pool })
    const now = new Date()
    e.writes.newWorker({
      id: u.workerId,
      runId: run.id,
      pool: u.pool,
      state: u.state,
      kind: u.kind,
      batchJobId: u.batchJobId ?? null,
      host: u.host ?? os.hostname(),
      pid: u.pid ?? null,
      reason: u.reason ?? null,
      currentTaskId: u.currentTaskId ?? null,
      createdAt: now,
      startedAt: u.state === 'running' ? now : null,
    })
    e.writes.event({
      runId: run.id,
      type: 'worker.state',
      taskId: null,
      workerId: u.workerId,
      payload: {
        from: null,
        to: u.state,
        pool: u.pool,
        kind: u.kind,
        batchJobId: u.batchJobId ?? null,
        reason: u.reason ?? null,
      },
    })
    return
  }
  if (cur.state !== u.state) {
    if (!checkTransition('worker', cur.state, u.state, u.workerId, (m) => e.log('warn', m))) return
    const from = cur.state
    cur.state = u.state
    patch.state = u.state
    if (u.state === 'running') patch.startedAt = new Date()
    if (u.state === 'gone') patch.endedAt = new Date()
    e.writes.worker(u.workerId, patch)
    e.writes.event({
      runId: run.id,
      type: 'worker.state',
      taskId: null,
      workerId: u.workerId,
      payload: { from, to: u.state, pool: u.pool, batchJobId: u.batchJobId ?? null, reason: u.reason ?? null },
    })
  } else if (Object.keys(patch).length) {
    e.writes.worker(u.workerId, patch)
    e.writes.soon()
  }
}
