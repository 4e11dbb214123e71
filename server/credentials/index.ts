/**
 * Credentials (X509 proxies, SciTokens / WLCG bearer tokens): discovery, inspection, the
 * dispatch policy, staging into run directories, and log redaction. See types.ts for what is
 * safe to show: `CredentialStatus` never contains secret material.
 */
import type { ExecutionPlan } from '../workflow/types.ts'
import { inspectCredential, resolveCredentialRef, type DiscoveryOptions } from './discover.ts'
import { evaluateCredential, type CheckOptions } from './policy.ts'
import { stageCredential, type StageOptions } from './stage.ts'
import type { CredentialCheck, CredentialStatus, StagedCredential } from './types.ts'

export type {
  CredentialKind,
  CredentialLocation,
  CredentialStatus,
  CredentialPolicyMode,
  CredentialProblem,
  CredentialCheck,
  StagedCredential,
} from './types.ts'
export {
  discoverX509,
  discoverToken,
  discoverCredential,
  discoverAll,
  resolveCredentialRef,
  inspectCredential,
  expandPath,
} from './discover.ts'
export type { DiscoveryOptions, Discovery } from './discover.ts'
export { inspectX509Pem, parseVomsExtension, gridDn, VOMS_AC_EXTENSION_OID, VOMS_ATTRIBUTE_OID } from './x509.ts'
export type { X509Inspection, VomsAttributes } from './x509.ts'
export { inspectToken } from './token.ts'
export type { TokenInspection } from './token.ts'
export { checkCredentials, evaluateCredential, estimateRunSeconds, credentialPolicyOf } from './policy.ts'
export type { CheckOptions } from './policy.ts'
export { stageCredential, jobCredentialSetup, STAGED_NAMES, STAGED_ENV, CredentialStageError } from './stage.ts'
export type { StageOptions, CredentialDelivery, JobCredentialSetup } from './stage.ts'
export { redactSecrets, redactDeep } from './redact.ts'
export type { RedactOptions } from './redact.ts'

export interface PreparedCredentials {
  check: CredentialCheck
  /** the credentials copied into the run directory (only found, readable ones) */
  staged: StagedCredential[]
}

/**
 * Dispatch-time helper: check every credential of the plan against the policy and, when the
 * check passes (or only warns), stage the usable ones into `<runDir>/credentials/` (0600).
 * Nothing is staged when the check has an error.
 */
export async function prepareRunCredentials(
  plan: Pick<ExecutionPlan, 'credentials'>,
  runDir: string,
  expectedRunSeconds: number | null,
  opts: CheckOptions & StageOptions & DiscoveryOptions = {},
): Promise<PreparedCredentials> {
  const problems: CredentialCheck['problems'] = []
  const statuses: CredentialStatus[] = []
  const usable: { loc: Awaited<ReturnType<typeof resolveCredentialRef>>['location']; st: CredentialStatus }[] = []
  for (const ref of plan.credentials ?? []) {
    const d = await resolveCredentialRef(ref, opts)
    const st = await inspectCredential(d.location, opts, d.tried)
    statuses.push(st)
    problems.push(...evaluateCredential(ref, st, expectedRunSeconds, opts))
    if (st.found && st.readable && !usable.some((u) => u.loc.kind === d.location.kind))
      usable.push({ loc: d.location, st })
  }
  const check: CredentialCheck = { ok: !problems.some((p) => p.severity === 'error'), problems, statuses }
  if (!check.ok) return { check, staged: [] }
  const staged: StagedCredential[] = []
  for (const u of usable) staged.push(await stageCredential(u.loc, u.st, runDir, opts))
  return { check, staged }
}
