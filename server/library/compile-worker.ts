/**
 * The compile worker (a worker thread of server/library/compile-pool.ts): compiles workflow text
 * off the request thread. `{ ready: true }` once loaded, then one
 * message in ({ id, source, options }) and one out ({ id, result }) per job.
 */
import { parentPort } from 'node:worker_threads'
import { compileWorkflow } from '../workflow/index.ts'
import type { CompileOptions } from '../workflow/types.ts'

parentPort?.on('message', (m: { id: number; source: string; options: CompileOptions }) => {
  let result: unknown
  try {
    result = compileWorkflow(m.source, m.options)
  } catch (e) {
    result = { crash: String((e as Error)?.message ?? e) }
  }
  parentPort?.postMessage({ id: m.id, result })
})
// the compiler is loaded: the pool starts the budget of a job from here
parentPort?.postMessage({ ready: true })
