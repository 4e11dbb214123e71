import type { Problem } from './types.ts'

/**
 * One-line compiler-style rendering of a problem:
 *   `FILE:LINE:COL: error CODE: message (hint: ...)`
 */
export function formatProblem(p: Problem, fileName = '<workflow>'): string {
  const { line, col } = p.range.start
  const base = `${fileName}:${line}:${col}: ${p.severity} ${p.code}: ${p.message}`
  return p.hint ? `${base} (hint: ${p.hint})` : base
}
