/** Pieces of the job scripts and submit files both batch strategies write. */
import type { ProblemCode } from '../../../workflow/problem-codes.ts'
import { isEnvName, shellQuote } from '../../transport/quote.ts'

/** a config value as one word (trimmed string or finite number), else null */
export function asString(v: unknown): string | null {
  if (typeof v === 'string' && v.trim() !== '') return v.trim()
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  return null
}

/** a config value that may be one item or a list, as strings */
export function asList(v: unknown): string[] {
  if (v == null) return []
  if (Array.isArray(v)) return v.map((x) => String(x))
  return [String(v)]
}

export interface EnvProblem {
  code: ProblemCode
  severity: 'error' | 'warning'
  pool: string | null
  message: string
}

/**
 * `export NAME='value'` lines for a job script; a name that is not a shell variable name is a
 * problem `<codePrefix>-invalid-env` (the line is left out).
 */
export function envExportLines(
  env: Record<string, string> | undefined,
  problems: EnvProblem[],
  pool: string,
  codePrefix: 'slurm' | 'htcondor',
  indent = '',
): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(env ?? {})) {
    if (!isEnvName(k)) {
      problems.push({
        code: `${codePrefix}-invalid-env`,
        severity: 'error',
        pool,
        message: `invalid environment variable name ${JSON.stringify(k)}`,
      })
      continue
    }
    out.push(`${indent}export ${k}=${shellQuote(v)}`)
  }
  return out
}
