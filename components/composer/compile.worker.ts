/// <reference lib="webworker" />
// Re-plans workflows off the main thread: typing in a 2,000-stage workflow never waits for the compiler.
import { planHashInput } from '~/server/workflow'
import { serveWorker } from '../dag/workerRpc'
import { compileTimed, type CompileRequest } from './compileTimed'
import { encodeResult, type WireResult } from './compileWire'

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('')

/**
 * The UTF-8 bytes of the plan's JSON, written into one buffer reused from compile to compile
 * (`encode` allocated and zeroed a fresh megabyte per keystroke).
 */
const encoder = new TextEncoder()
let bytes: Uint8Array<ArrayBuffer> = new Uint8Array(1 << 20)
function utf8(text: string): Uint8Array<ArrayBuffer> {
  // at most 3 bytes per UTF-16 code unit
  if (bytes.length < text.length * 3) bytes = new Uint8Array(text.length * 3)
  const { written } = encoder.encodeInto(text, bytes)
  return bytes.subarray(0, written)
}

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
  const hash = hex(await crypto.subtle.digest('SHA-256', utf8(text)))
  return encodeResult(result, text, hash, performance.now() - t0)
})
