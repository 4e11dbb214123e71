/**
 * The environment of task processes, built from an allow-list, never inherited whole from the
 * server: the server's own settings (CONTROLROOM_TOKEN, CONTROLROOM_HOME, DATABASE_URL, session
 * secrets, cloud keys, ...) must not reach a task (a task's log or `env` would show them).
 *
 * Allowed: the names below, `LC_*`, and the names listed in $CONTROLROOM_TASK_ENV_ALLOW (comma or
 * space separated) for a site that needs more (e.g. `CUDA_HOME,http_proxy`). The op's own variables
 * (spec.env) and the CONTROLROOM_* task identifiers are added by the runtime on top.
 */
import type { RunAs } from './types.ts'

export const TASK_ENV_ALLOW = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TERM',
  'TMPDIR',
  // where credentials are (paths, not secrets): the credential checks read the same variables
  'X509_USER_PROXY',
  'X509_CERT_DIR',
  'X509_VOMS_DIR',
  'BEARER_TOKEN_FILE',
  'KRB5CCNAME',
  // the runtime's own knobs
  'CONTROLROOM_KILL_GRACE_MS',
  'CONTROLROOM_PYTHON',
] as const

export function extraAllowed(env: Record<string, string | undefined> = process.env): string[] {
  return (env.CONTROLROOM_TASK_ENV_ALLOW ?? '').split(/[\s,]+/).filter((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n))
}

/** the base environment of a task (and of the executor that runs it) */
export function taskBaseEnv(
  from: Record<string, string | undefined> = process.env,
  runAs?: RunAs | null,
): Record<string, string> {
  const allow = new Set<string>([...TASK_ENV_ALLOW, ...extraAllowed(from)])
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(from)) {
    if (v === undefined) continue
    if (allow.has(k) || k.startsWith('LC_')) out[k] = v
  }
  out.PATH ??= '/usr/local/bin:/usr/bin:/bin'
  if (runAs) {
    // the server's home, user name and credential locations belong to the server's user
    out.HOME = runAs.home
    out.USER = runAs.user
    out.LOGNAME = runAs.user
    for (const k of ['X509_USER_PROXY', 'BEARER_TOKEN_FILE', 'KRB5CCNAME', 'TMPDIR']) delete out[k]
  }
  return out
}
