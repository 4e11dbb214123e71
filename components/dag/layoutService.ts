'use client'
/**
 * Main-thread side of the layout: one shared Web Worker running `layoutGraph`; if Workers are
 * unavailable, the same function runs on the main thread.
 */
import { layoutGraph, type LayoutInput, type LayoutResult } from './layout'

type Pending = { resolve: (r: LayoutResult) => void; reject: (e: Error) => void }

let worker: Worker | null | undefined
let nextId = 1
const pending = new Map<number, Pending>()

function getWorker(): Worker | null {
  if (worker !== undefined) return worker
  try {
    worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' })
    worker.onmessage = (ev: MessageEvent<{ id: number; result?: LayoutResult; error?: string }>) => {
      const p = pending.get(ev.data.id)
      if (!p) return
      pending.delete(ev.data.id)
      if (ev.data.result) p.resolve(ev.data.result)
      else p.reject(new Error(ev.data.error ?? 'layout failed'))
    }
    worker.onerror = (ev) => {
      // A broken worker: fail what is pending and fall back to the main thread from now on.
      console.warn('[layout] worker failed, laying out on the main thread', ev.message)
      worker?.terminate()
      worker = null
      for (const [, p] of pending) p.reject(new Error('layout worker failed'))
      pending.clear()
    }
  } catch {
    worker = null
  }
  return worker
}

/** Lays a graph out off the main thread (falls back to the main thread). */
export function requestLayout(input: LayoutInput): Promise<LayoutResult> {
  const w = typeof window !== 'undefined' && typeof Worker !== 'undefined' ? getWorker() : null
  if (!w) return layoutGraph(input)
  const id = nextId++
  return new Promise<LayoutResult>((resolve, reject) => {
    pending.set(id, { resolve, reject })
    w.postMessage({ id, input })
  }).catch(() => layoutGraph(input))
}
