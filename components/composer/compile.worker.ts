/// <reference lib="webworker" />
// Re-plans workflows off the main thread: typing in a 2,000-stage workflow never waits for the compiler.
import { planHashInput } from '~/server/workflow'
import { serveWorker } from '../dag/workerRpc'
import { compileTimed, type CompileRequest } from './compileTimed'
import { encodeResult, type WireResult } from './compileWire'

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('')

serveWorker(async (req: CompileRequest): Promise<WireResult> => {
  const t0 = performance.now()
  const { result } = compileTimed(req)
  const plan = result.plan
  if (!plan) return encodeResult(result, null, '', performance.now() - t0)
  // The plan's hash with the browser's native SHA-256 (~5 ms for a 2,000-stage plan, where the
  // compiler's pure-JS one takes ~100 ms here), over the canonical JSON that is also what is posted.
  const text = planHashInput(plan)
  if (text === null || !globalThis.crypto?.subtle) {
    const { hash, ...body } = plan
    return encodeResult(result, JSON.stringify(body), hash, performance.now() - t0)
  }
  const hash = hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
  return encodeResult(result, text, hash, performance.now() - t0)
})
