'use client'
/**
 * Compiles on a Web Worker (through the shared worker-RPC helper), latest-wins: while one compile
 * runs, only the newest source waits; older ones are dropped. Falls back to compiling on the main
 * thread when Workers are unavailable.
 */
import { workerClient } from '../dag/workerRpc'
import { type CompileRequest, compileTimed, type TimedResult } from './compileTimed'
import { decodeResult, type WireResult } from './compileWire'

export type { TimedResult }

/** The worker answers in the wire format; the main-thread fallback answers directly. */
type Answer = WireResult | TimedResult
const rpc = workerClient<CompileRequest, Answer>(
  () => new Worker(new URL('./compile.worker.ts', import.meta.url), { type: 'module' }),
  compileTimed,
  'compile',
)
const decode = (a: Answer): TimedResult => ('restJson' in a ? decodeResult(a) : a)

type Job = CompileRequest & { resolve: (r: TimedResult | null) => void }
let busy = false
let waiting: Job | null = null

function pump() {
  if (busy || !waiting) return
  const job = waiting
  waiting = null
  busy = true
  rpc
    .call({ source: job.source, fileName: job.fileName })
    .then(decode)
    // a compiler crash in the worker: compile here so the error surfaces as the compiler reports it
    .catch(() => compileTimed(job))
    .then(job.resolve, () => job.resolve(null))
    .finally(() => {
      busy = false
      pump()
    })
}

/**
 * Compiles `source` off the main thread. Resolves null when a newer request replaced this one
 * before it started.
 */
export function compileAsync(source: string, fileName: string): Promise<TimedResult | null> {
  return new Promise((resolve) => {
    if (waiting) waiting.resolve(null)
    waiting = { source, fileName, resolve }
    pump()
  })
}

/** Compiles on the calling thread (first render of small documents). */
export function compileSync(source: string, fileName: string): TimedResult {
  return compileTimed({ source, fileName })
}
