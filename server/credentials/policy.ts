/**
 * The dispatch-time credential policy: every credential the plan references must exist and stay
 * valid until the run's expected end. In `refuse` mode (the default: required means required) the
 * problems of required credentials are errors (dispatch stops); in `warn` mode, chosen explicitly,
 * they are warnings (dispatch goes ahead and the UI shows them). Problems of optional credentials
 * (`required: false`) are always warnings.
 */
import type { CredentialRef, ExecutionPlan } from '../workflow/types.ts'
import { inspectCredential, resolveCredentialRef, type DiscoveryOptions } from './discover.ts'
import type { CredentialCheck, CredentialPolicyMode, CredentialProblem, CredentialStatus } from './types.ts'

export interface CheckOptions extends DiscoveryOptions {
  mode?: CredentialPolicyMode
  /** extra seconds a credential must outlive the run by (default 300: stage-out, clock skew) */
  marginSeconds?: number
}

function human(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`
  if (m > 0) return `${m}m`
  return `${s}s`
}

const NAME = { x509: 'X509 proxy', scitoken: 'bearer token' } as const
const RENEW = {
  x509: 'renew it with voms-proxy-init (or grid-proxy-init) and dispatch again',
  scitoken: 'get a fresh token (e.g. htgettoken or oidc-token) and dispatch again',
} as const

/** check one resolved credential against the policy */
export function evaluateCredential(
  ref: Pick<CredentialRef, 'kind' | 'required' | 'minValidSeconds'>,
  st: CredentialStatus,
  expectedRunSeconds: number | null,
  opts: { mode?: CredentialPolicyMode; marginSeconds?: number } = {},
): CredentialProblem[] {
  const mode = opts.mode ?? 'refuse'
  const margin = opts.marginSeconds ?? 300
  const severity: CredentialProblem['severity'] = ref.required && mode === 'refuse' ? 'error' : 'warning'
  const name = NAME[ref.kind]
  const out: CredentialProblem[] = []
  const base = { kind: ref.kind, path: st.path } as const
  if (!st.found) {
    if (ref.required) {
      out.push({
        ...base,
        code: 'credential-missing',
        severity,
        message: st.error ?? `no ${name} found`,
        hint: RENEW[ref.kind],
      })
    }
    return out
  }
  if (!st.readable) {
    out.push({
      ...base,
      code: 'credential-unreadable',
      severity: ref.required ? severity : 'warning',
      message: `the ${name} at ${st.path ?? st.source} is not usable: ${st.error ?? 'unreadable'}`,
    })
    return out
  }
  if (st.notBefore && st.checkedAt && Date.parse(st.notBefore) > Date.parse(st.checkedAt) + 60_000) {
    out.push({
      ...base,
      code: 'credential-not-yet-valid',
      severity: 'warning',
      message: `the ${name} is not valid before ${st.notBefore}`,
    })
  }
  if (st.secondsLeft === null) return out // never expires
  if (st.expired) {
    out.push({
      ...base,
      code: 'credential-expired',
      severity,
      message: `the ${name} (${st.source}) expired at ${st.expiresAt}`,
      hint: RENEW[ref.kind],
    })
    return out
  }
  if (ref.minValidSeconds !== undefined && st.secondsLeft < ref.minValidSeconds) {
    out.push({
      ...base,
      code: 'credential-below-minimum',
      severity,
      message: `the ${name} has ${human(st.secondsLeft)} left, less than the ${human(ref.minValidSeconds)} the workflow requires`,
      hint: RENEW[ref.kind],
    })
  }
  if (expectedRunSeconds !== null && expectedRunSeconds > 0 && st.secondsLeft < expectedRunSeconds + margin) {
    out.push({
      ...base,
      code: 'credential-expires-during-run',
      severity,
      message: `the ${name} expires in ${human(st.secondsLeft)} (at ${st.expiresAt}), before the run's expected end in about ${human(expectedRunSeconds)}`,
      hint: RENEW[ref.kind],
    })
  }
  return out
}

/**
 * The dispatch policy of a plan: `execution.config.credential_policy` (or `credentialPolicy`,
 * `credentials.policy`), else $CONTROLROOM_CREDENTIAL_POLICY, else `refuse`.
 */
export function credentialPolicyOf(
  plan: Pick<ExecutionPlan, 'config'>,
  override?: CredentialPolicyMode,
  env: Record<string, string | undefined> = process.env,
): CredentialPolicyMode {
  if (override) return override
  const cfg = (plan.config ?? {}) as Record<string, unknown>
  const v =
    cfg.credential_policy ??
    cfg.credentialPolicy ??
    (cfg.credentials as Record<string, unknown> | undefined)?.policy ??
    env.CONTROLROOM_CREDENTIAL_POLICY
  return v === 'warn' ? 'warn' : 'refuse'
}

/**
 * Resolve, inspect and check every credential the plan references.
 * `expectedRunSeconds` null: only presence, expiry and `minValidSeconds` are checked.
 */
export async function checkCredentials(
  plan: Pick<ExecutionPlan, 'credentials'>,
  expectedRunSeconds: number | null,
  opts: CheckOptions = {},
): Promise<CredentialCheck> {
  const problems: CredentialProblem[] = []
  const statuses: CredentialStatus[] = []
  for (const ref of plan.credentials ?? []) {
    const d = await resolveCredentialRef(ref, opts)
    const st = await inspectCredential(d.location, opts, d.tried)
    statuses.push(st)
    problems.push(...evaluateCredential(ref, st, expectedRunSeconds, opts))
  }
  return { ok: !problems.some((p) => p.severity === 'error'), problems, statuses }
}

/**
 * A rough expected duration of a run: the longest chain of stages, each counted with its timeout
 * (or its pool's walltime). Null when no stage gives a bound.
 */
export function estimateRunSeconds(plan: Pick<ExecutionPlan, 'stages' | 'pools'>): number | null {
  const poolWall = new Map<string, number>()
  for (const p of plan.pools) {
    const w = (p.config as Record<string, unknown>)?.walltimeSeconds
    if (typeof w === 'number' && w > 0) poolWall.set(p.name, w)
  }
  const finish = new Map<string, number>()
  let any = false
  let max = 0
  for (const s of plan.stages) {
    // stages are in topological order
    const own = s.timeoutSeconds ?? poolWall.get(s.pool) ?? 0
    if (own > 0) any = true
    const start = Math.max(0, ...s.needs.map((n) => finish.get(n) ?? 0))
    const end = start + own
    finish.set(s.id, end)
    max = Math.max(max, end)
  }
  return any ? max : null
}
