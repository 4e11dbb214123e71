'use client'
/**
 * Compiles on a Web Worker, latest-wins: while one compile runs, only the newest source waits; older
 * ones are dropped. Falls back to compiling on the main thread when Workers are unavailable.
 */
import { compileWorkflow, type CompileResult } from '~/server/workflow'

export interface TimedResult {
  result: CompileResult
  ms: number
}

type Job = { source: string; fileName: string; resolve: (r: TimedResult | null) => void }

let worker: Worker | null | undefined
let busy = false
let waiting: Job | null = null
let current: Job | null = null
let nextId = 1

function compileHere(source: string, fileName: string): TimedResult {
  const t0 = performance.now()
  const result = compileWorkflow(source, { fileName })
  return { result, ms: performance.now() - t0 }
}

function getWorker(): Worker | null {
  if (worker !== undefined) return worker
  try {
    worker = new Worker(new URL('./compile.worker.ts', import.meta.url), { type: 'module' })
    worker.onmessage = (ev: MessageEvent<{ id: number; result?: CompileResult; error?: string; ms: number }>) => {
      const job = current
      current = null
      busy = false
      if (job) {
        if (ev.data.result) job.resolve({ result: ev.data.result, ms: ev.data.ms })
        else job.resolve(compileHere(job.source, job.fileName)) // surfaces the error as the compiler would
      }
      pump()
    }
    worker.onerror = () => {
      worker?.terminate()
      worker = null
      busy = false
      const job = current
      current = null
      if (job) job.resolve(compileHere(job.source, job.fileName))
      pump()
    }
  } catch {
    worker = null
  }
  return worker
}

function pump() {
  if (busy || !waiting) return
  const job = waiting
  waiting = null
  const w = getWorker()
  if (!w) {
    job.resolve(compileHere(job.source, job.fileName))
    return
  }
  busy = true
  current = job
  w.postMessage({ id: nextId++, source: job.source, fileName: job.fileName })
}

/**
 * Compiles `source` off the main thread. Resolves null when a newer request replaced this one
 * before it started.
 */
export function compileAsync(source: string, fileName: string): Promise<TimedResult | null> {
  if (typeof Worker === 'undefined') return Promise.resolve(compileHere(source, fileName))
  return new Promise((resolve) => {
    if (waiting) waiting.resolve(null)
    waiting = { source, fileName, resolve }
    pump()
  })
}

/** Compiles on the calling thread (first render of small documents). */
export { compileHere as compileSync }
