/**
 * Parsing what the HTCondor command line tools print (formats from HTCondor's own sources and
 * manual; see the *.format.test.ts fixtures for the quoted samples):
 *
 *  - `condor_submit -terse`: one line per cluster, `<cluster>.<firstproc> - <cluster>.<lastproc>`
 *    (condor_submit.cpp: `fprintf(stdout, "%d.%d - %d.%d\n", ...)`);
 *  - errors: `\nERROR: ...` lines on stderr (`ERROR: Executable file %s does not exist`,
 *    `ERROR: on Line %d of submit file: %s`, `ERROR: proxy has expired`,
 *    `ERROR: Failed to connect to local queue manager`), mapped to pool-level problems;
 *  - `condor_q -json` / `condor_history -json`: a JSON array of ClassAds, written as
 *    `[\n{...}\n,\n{...}\n]\n`; expressions that are not literals appear as strings
 *    `"\/Expr(<expr>)\/"`, `undefined` as null; no output at all when nothing matches.
 */
import type { PoolProblem } from '../../types.ts'

// ---------------------------------------------------------------- condor_submit -terse

export interface TerseRange {
  clusterId: number
  firstProc: number
  lastProc: number
}

/** parse `condor_submit -terse` stdout; [] when there is no range line */
export function parseTerse(stdout: string): TerseRange[] {
  const out: TerseRange[] = []
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^\s*(\d+)\.(\d+)\s+-\s+(\d+)\.(\d+)\s*$/.exec(line)
    if (!m) continue
    const c1 = Number(m[1])
    const c2 = Number(m[3])
    if (c1 !== c2) {
      // one range line per cluster; a line spanning clusters would be a new format
      out.push({ clusterId: c1, firstProc: Number(m[2]), lastProc: Number(m[2]) })
      out.push({ clusterId: c2, firstProc: 0, lastProc: Number(m[4]) })
    } else out.push({ clusterId: c1, firstProc: Number(m[2]), lastProc: Number(m[4]) })
  }
  return out
}

/** the job ids (`cluster.proc`) of terse ranges, in order */
export function terseJobIds(ranges: TerseRange[]): string[] {
  const ids: string[] = []
  for (const r of ranges) for (let p = r.firstProc; p <= r.lastProc; p++) ids.push(`${r.clusterId}.${p}`)
  return ids
}

// ---------------------------------------------------------------- errors

export interface SubmitProblem extends PoolProblem {
  /** trying again later may work (schedd unreachable, timeout) */
  retryable: boolean
}

/** the ERROR lines of condor_* output, joined (or the last non-empty lines) */
export function errorText(stderr: string, stdout = ''): string {
  const lines = `${stderr}\n${stdout}`
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
  const errs: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!
    if (/^ERROR\b/i.test(l)) {
      errs.push(l.replace(/^ERROR:?\s*/i, ''))
      // the error stack printed after "Failed to connect ..." is on the following lines
      const next = lines[i + 1]
      if (next && !/^(ERROR|WARNING|Submitting job)/i.test(next) && /^[A-Z_]+:\d+:/.test(next)) errs.push(next)
    }
  }
  if (errs.length) return errs.join('; ')
  return lines
    .filter((l) => !/^Submitting job/i.test(l))
    .slice(-3)
    .join('; ')
}

/** map a failed `condor_submit` to a problem on the pool, with a hint */
export function mapSubmitError(
  r: { code: number; stdout: string; stderr: string; timedOut?: boolean },
  pool: string | null,
  host = 'the submit host',
): SubmitProblem {
  const text = errorText(r.stderr, r.stdout)
  const base = { severity: 'error' as const, pool }
  if (r.code === 127 || /condor_submit: (spawn|.*ENOENT|.*not found)/i.test(r.stderr)) {
    return {
      ...base,
      code: 'htcondor-not-installed',
      message: `condor_submit was not found on ${host}: HTCondor is not installed there, or not on PATH`,
      hint: 'install HTCondor on the submit host, or set site htcondor.binDir (and ssh: when the dashboard runs off the cluster)',
      retryable: false,
    }
  }
  if (r.timedOut || r.code === 124) {
    return {
      ...base,
      code: 'htcondor-submit-timeout',
      message: `condor_submit did not answer in time (${text || 'timeout'})`,
      hint: 'the schedd may be overloaded; Control Room retries',
      retryable: true,
    }
  }
  if (
    /Failed to connect to (local )?queue manager|Can't find address of|Failed to locate local schedd|Connection refused|SECMAN:|AUTHENTICATE:/i.test(
      text,
    )
  ) {
    return {
      ...base,
      code: 'htcondor-schedd-unreachable',
      message: `condor_submit could not reach the schedd: ${text}`,
      hint: 'check that the schedd runs (condor_q works) and that you can authenticate to it; site htcondor.schedd / htcondor.pool select another one',
      retryable: true,
    }
  }
  if (/proxy has expired|proxy lifetime too short|x509|proxy/i.test(text)) {
    return {
      ...base,
      code: 'htcondor-proxy-rejected',
      message: `condor_submit refused the X509 proxy: ${text}`,
      hint: 'renew the proxy (voms-proxy-init) and dispatch again',
      retryable: false,
    }
  }
  if (/Executable file .* (does not exist|has zero length)/i.test(text)) {
    return {
      ...base,
      code: 'htcondor-executable-missing',
      message: `condor_submit: ${text}`,
      hint: 'the job script was not written where condor_submit runs (is the run directory on the submit host?)',
      retryable: false,
    }
  }
  if (/Parse error|parse|expression/i.test(text) && /requirements|expression/i.test(text)) {
    return {
      ...base,
      code: 'htcondor-invalid-requirements',
      message: `condor_submit rejected an expression: ${text}`,
      hint: 'check requirements in the pool config and the site file',
      retryable: false,
    }
  }
  if (/on Line \d+ of submit file/i.test(text)) {
    return {
      ...base,
      code: 'htcondor-invalid-submit',
      message: `condor_submit rejected the submit description: ${text}`,
      hint: 'see the submit description of this pool in the plan panel',
      retryable: false,
    }
  }
  if (/Can't open|No such file|Permission denied|Invalid log file/i.test(text)) {
    return {
      ...base,
      code: 'htcondor-submit-file-error',
      message: `condor_submit: ${text}`,
      hint: 'files named in the submit description must exist and be readable/writable on the submit host',
      retryable: false,
    }
  }
  if (/MAX_JOBS|maxjobs|too many|limit/i.test(text)) {
    return {
      ...base,
      code: 'htcondor-submit-limit',
      message: `condor_submit: ${text}`,
      hint: 'a schedd limit was reached; fewer workers per pool may help',
      retryable: true,
    }
  }
  return {
    ...base,
    code: 'htcondor-submit-failed',
    message: `condor_submit failed (exit ${r.code}): ${text || 'no output'}`,
    retryable: false,
  }
}

// ---------------------------------------------------------------- ClassAd JSON

export type ClassAdValue = string | number | boolean | null | ClassAdValue[] | { [k: string]: ClassAdValue }
export type ClassAd = Record<string, ClassAdValue>

const EXPR_RE = /^\/Expr\(([\s\S]*)\)\/$/

/** a JSON ClassAd attribute that is an unevaluated expression (`"\/Expr(...)\/"`) -> its text */
export function exprOf(v: ClassAdValue | undefined): string | null {
  if (typeof v !== 'string') return null
  const m = EXPR_RE.exec(v)
  return m ? m[1]! : null
}

/**
 * Parse `condor_q -json` / `condor_history -json` output: a JSON array of ads. Empty output (no
 * job matched) is []. A truncated array (the tool killed mid-output) keeps the complete ads.
 */
export function parseClassAdJson(text: string): ClassAd[] {
  const t = text.trim()
  if (t === '') return []
  try {
    const v = JSON.parse(t) as unknown
    if (Array.isArray(v)) return v.filter((x): x is ClassAd => !!x && typeof x === 'object' && !Array.isArray(x))
    if (v && typeof v === 'object') return [v as ClassAd]
  } catch {
    // fall through: recover the complete objects
  }
  return parseJsonObjectStream(t)
}

/**
 * Calls `visit` with each character of `text` outside double-quoted strings (a string's quotes,
 * its content and its backslash escapes are passed over), the way JSON and ClassAd expressions
 * quote; `visit` returning true stops the scan. Tells whether the text ended inside a string.
 */
export function scanOutsideStrings(
  text: string,
  visit: (c: string, i: number) => boolean | undefined,
): {
  inString: boolean
} {
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (visit(c, i)) break
  }
  return { inString }
}

/** parse concatenated / comma-separated top-level JSON objects (JSON event logs, truncated arrays) */
export function parseJsonObjectStream(text: string): ClassAd[] {
  const out: ClassAd[] = []
  let depth = 0
  let start = -1
  scanOutsideStrings(text, (c, i) => {
    if (c === '{') {
      if (depth === 0) start = i
      depth++
    } else if (c === '}') {
      depth--
      if (depth === 0 && start >= 0) {
        try {
          const v = JSON.parse(text.slice(start, i + 1)) as unknown
          if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as ClassAd)
        } catch {
          // skip a damaged object
        }
        start = -1
      }
    }
    return undefined
  })
  return out
}

export function num(v: ClassAdValue | undefined): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v)
  return null
}

export function str(v: ClassAdValue | undefined): string | null {
  if (typeof v === 'string' && !EXPR_RE.test(v)) return v
  return null
}

export function bool(v: ClassAdValue | undefined): boolean | null {
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === 'TRUE') return true
  if (v === 'false' || v === 'FALSE') return false
  return null
}

// ---------------------------------------------------------------- condor_rm

export interface RmResult {
  removed: string[]
  notFound: string[]
}

/**
 * `condor_rm` prints `Job 132.0 marked for removal` (older: `Job 132.0 removed.`),
 * `All jobs in cluster 132 have been marked for removal`, and for unknown ids
 * `Couldn't find/remove all jobs matching constraint ...` or `Job 132.5 not found`.
 */
export function parseRm(stdout: string, stderr: string): RmResult {
  const text = `${stdout}\n${stderr}`
  const removed: string[] = []
  const notFound: string[] = []
  for (const m of text.matchAll(/Job (\d+\.\d+) (?:marked for removal|removed)/g)) removed.push(m[1]!)
  for (const m of text.matchAll(/All jobs in cluster (\d+) have been marked for removal/g)) removed.push(m[1]!)
  for (const m of text.matchAll(/Job (\d+\.\d+) not found/g)) notFound.push(m[1]!)
  return { removed, notFound }
}
