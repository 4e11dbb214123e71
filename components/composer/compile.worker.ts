/// <reference lib="webworker" />
// Re-plans workflows off the main thread: typing in a 500-stage workflow never waits for the compiler.
import { compileWorkflow } from '~/server/workflow'

const ctx = self as unknown as DedicatedWorkerGlobalScope

ctx.onmessage = (ev: MessageEvent<{ id: number; source: string; fileName: string }>) => {
  const { id, source, fileName } = ev.data
  const t0 = performance.now()
  try {
    const result = compileWorkflow(source, { fileName })
    ctx.postMessage({ id, result, ms: performance.now() - t0 })
  } catch (err) {
    ctx.postMessage({ id, error: err instanceof Error ? err.message : String(err), ms: performance.now() - t0 })
  }
}
