/**
 * Test helpers for the Dask backend (used by the tests beside it and by the bench).
 */
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { PlanPool } from '../../../workflow/types.ts'
import type { DaskSession, DaskTaskEvent, DaskTaskEventKind } from './session.ts'
import { sleep } from './procs.ts'

export function testPool(name: string, workers: number, extra: Partial<PlanPool> = {}): PlanPool {
  return {
    name,
    workers,
    resources: { cpus: 1, memoryBytes: null, gpus: 0, diskBytes: null },
    resourceClass: null,
    config: {},
    implicit: false,
    stages: [`${name}-stage`],
    ...extra,
  }
}

export function tempRunDir(prefix = 'cr-dask-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix))
}

/** records every task event of a session, and waits for conditions on them */
export class TaskLog {
  readonly events: DaskTaskEvent[] = []
  constructor(session: DaskSession) {
    session.on('task', (e) => this.events.push(e))
  }
  of(taskId: string): DaskTaskEvent[] {
    return this.events.filter((e) => e.taskId === taskId)
  }
  last(taskId: string): DaskTaskEvent | undefined {
    const l = this.of(taskId)
    return l[l.length - 1]
  }
  async waitFor(taskId: string, kinds: DaskTaskEventKind[], timeoutMs = 30_000): Promise<DaskTaskEvent> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const e = this.of(taskId).find((x) => kinds.includes(x.kind))
      if (e) return e
      await sleep(20)
    }
    throw new Error(
      `task ${taskId}: no ${kinds.join('|')} event within ${timeoutMs} ms; saw ${JSON.stringify(this.of(taskId))}`,
    )
  }
  async waitAll(taskIds: string[], kinds: DaskTaskEventKind[], timeoutMs = 60_000): Promise<DaskTaskEvent[]> {
    const out: DaskTaskEvent[] = []
    const deadline = Date.now() + timeoutMs
    for (const id of taskIds) out.push(await this.waitFor(id, kinds, Math.max(1, deadline - Date.now())))
    return out
  }
}

export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await cond()) return
    await sleep(25)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}
