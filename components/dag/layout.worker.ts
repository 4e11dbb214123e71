/// <reference lib="webworker" />
// Layout Web Worker: runs the pure `layoutGraph` with one ELK instance (elk's bundled build runs its
// own engine in-thread here, so the main thread stays free while large graphs are laid out).
import ELK from 'elkjs/lib/elk.bundled.js'
import { layoutGraph, type LayoutInput } from './layout'

const elk = new ELK()
const ctx = self as unknown as DedicatedWorkerGlobalScope

// elk.bundled.js installs its own `self.onmessage` when loaded inside a worker: replace it.
ctx.onmessage = async (ev: MessageEvent<{ id: number; input: LayoutInput }>) => {
  const { id, input } = ev.data
  try {
    const result = await layoutGraph(input, { elk })
    ctx.postMessage({ id, result })
  } catch (err) {
    ctx.postMessage({ id, error: err instanceof Error ? err.message : String(err) })
  }
}
