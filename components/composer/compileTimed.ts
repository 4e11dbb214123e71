/** The compile the worker runs (also its main-thread fallback), timed where it runs. */
import { type CompileResult, compileWorkflow } from '~/server/workflow'

export interface TimedResult {
  result: CompileResult
  ms: number
}
export interface CompileRequest {
  source: string
  fileName: string
}

export function compileTimed({ source, fileName }: CompileRequest): TimedResult {
  const t0 = performance.now()
  const result = compileWorkflow(source, { fileName })
  return { result, ms: performance.now() - t0 }
}
