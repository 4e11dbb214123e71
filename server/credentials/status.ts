/**
 * `credentials.status`: the credentials this server would hand to jobs, for the credential badge.
 * Only browser-safe fields leave: kind, where it was found (the source label, not the file),
 * subject / issuer / identity, VO and FQANs, scopes and audience, expiry and time left. Never the
 * proxy, its key or the token, and never a path (a token's file name is not secret, but the badge
 * does not need it).
 */
import { discoverAll, type DiscoveryOptions } from './discover.ts'
import { redactDeep } from './redact.ts'
import type { CredentialKind, CredentialStatus } from './types.ts'

export interface CredentialBadgeStatus {
  kind: CredentialKind
  id: string
  /** `env:X509_USER_PROXY`, `default:/tmp/x509up_u1000`, `env:BEARER_TOKEN`, ... */
  source: string
  found: boolean
  readable: boolean
  subject: string | null
  issuer: string | null
  identity: string | null
  vo: string | null
  fqans: string[]
  scopes: string[]
  audience: string[]
  expiresAt: string | null
  secondsLeft: number | null
  expired: boolean
  error: string | null
  checkedAt: string
}

/** the browser-safe projection of a status (an allow-list: new fields do not leak by default) */
export function toBadgeStatus(s: CredentialStatus): CredentialBadgeStatus {
  return redactDeep({
    kind: s.kind,
    id: s.kind,
    source: s.source,
    found: s.found,
    readable: s.readable,
    subject: s.subject,
    issuer: s.issuer,
    identity: s.identity,
    vo: s.vo,
    fqans: [...s.fqans],
    scopes: [...s.scopes],
    audience: [...s.audience],
    expiresAt: s.expiresAt,
    secondsLeft: s.secondsLeft,
    expired: s.expired,
    error: s.error,
    checkedAt: s.checkedAt,
  })
}

/** discover the X509 proxy and the bearer token (usual places) and return what was found */
export async function credentialBadgeStatuses(
  opts: DiscoveryOptions = {},
): Promise<{ credentials: CredentialBadgeStatus[]; checkedAt: string }> {
  const all = await discoverAll(opts)
  return { credentials: all.filter((s) => s.found).map(toBadgeStatus), checkedAt: new Date().toISOString() }
}
