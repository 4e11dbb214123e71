/// <reference lib="webworker" />
// Re-plans workflows off the main thread: typing in a 2,000-stage workflow never waits for the compiler.
import { planHashInput } from '~/server/workflow'
import { serveWorker } from '../dag/workerRpc'
import { compileTimed, type CompileRequest } from './compileTimed'

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('')

/**
 * The plan's hash with the browser's native SHA-256 (~5 ms for a 2,000-stage plan, where the
 * compiler's pure-JS one takes ~100 ms there): set before the result is posted, since posting reads
 * every property and would otherwise run the slow one.
 */
async function hashNatively(plan: { hash: string }): Promise<void> {
  const text = planHashInput(plan as Parameters<typeof planHashInput>[0])
  if (text === null || !globalThis.crypto?.subtle) return
  plan.hash = hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
}

serveWorker(async (req: CompileRequest) => {
  const t0 = performance.now()
  const timed = compileTimed(req)
  if (timed.result.plan) await hashNatively(timed.result.plan)
  return { ...timed, ms: performance.now() - t0 }
})
