/// <reference lib="webworker" />
// Re-plans workflows off the main thread: typing in a 2,000-stage workflow never waits for the compiler.
import { planHashInput } from '~/server/workflow'
import { serveWorker } from '../dag/workerRpc'
import { compileTimed, type CompileRequest } from './compileTimed'
import { encodeResult, type WireResult } from './compileWire'
import { nativeSha256Hex } from './planDigest'

serveWorker(async (req: CompileRequest): Promise<WireResult> => {
  const t0 = performance.now()
  const { result } = compileTimed(req)
  const plan = result.plan
  if (!plan) return encodeResult(result, null, '', performance.now() - t0)
  // The plan's hash with the browser's native SHA-256 (planDigest.ts), over the canonical JSON that
  // is also what is posted.
  const text = planHashInput(plan)
  const digest = text === null ? null : nativeSha256Hex(text)
  if (text === null || digest === null) {
    const { hash, ...body } = plan
    return encodeResult(result, JSON.stringify(body), hash, performance.now() - t0)
  }
  return encodeResult(result, text, await digest, performance.now() - t0)
})
