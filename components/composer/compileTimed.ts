/** The compile the worker runs (also its main-thread fallback), timed where it runs. */
import { type CompileResult, createWorkflowCompiler } from '~/server/workflow'

export interface TimedResult {
  result: CompileResult
  ms: number
}
export interface CompileRequest {
  source: string
  fileName: string
}

/**
 * One incremental compiler per thread (the worker's, and the main thread's for the first paint and
 * the fallback): the document being edited is re-read only where it changed (server/workflow's
 * `createWorkflowCompiler`); the results are those of `compileWorkflow`.
 */
const compiler = createWorkflowCompiler()

export function compileTimed({ source, fileName }: CompileRequest): TimedResult {
  const t0 = performance.now()
  const result = compiler.compile(source, { fileName })
  return { result, ms: performance.now() - t0 }
}
