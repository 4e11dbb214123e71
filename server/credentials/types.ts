/**
 * Credentials are execution infrastructure: found, checked (time left) and transferred by the
 * strategy. The types below are what leaves this module. None of them carries secret material:
 * a `CredentialStatus` is safe to store, log and send to the browser (it holds paths, subjects,
 * scopes and dates, never the proxy, its key or the token).
 */
import type { ProblemCode } from '../workflow/problem-codes.ts'

export type CredentialKind = 'x509' | 'scitoken'

/** where a credential was looked for / found (no material) */
export interface CredentialLocation {
  kind: CredentialKind
  /**
   * how it was found, for the UI: `env:X509_USER_PROXY`, `default:/tmp/x509up_u1000`,
   * `path`, `env:BEARER_TOKEN` (the value is in the variable), `env:BEARER_TOKEN_FILE`,
   * `default:$XDG_RUNTIME_DIR/bt_u1000`, `default:/tmp/bt_u1000`
   */
  source: string
  /** the file; null when the token is a value held in an environment variable */
  path: string | null
  /** the environment variable that holds the token value itself (BEARER_TOKEN), when so */
  valueEnv?: string
}

/**
 * The browser-safe summary of one credential (the credential badge). JSON-serialisable:
 * dates are ISO strings.
 */
export interface CredentialStatus {
  kind: CredentialKind
  /** `x509` or `scitoken` plus the location, stable for a UI key */
  id: string
  source: string
  path: string | null
  /** a credential was found at the location */
  found: boolean
  /** it could be read and decoded */
  readable: boolean
  /** X509: the proxy subject; token: `sub` */
  subject: string | null
  /** X509: the proxy issuer; token: `iss` */
  issuer: string | null
  /** X509: the end-entity (user) DN the proxy acts for */
  identity: string | null
  /** X509 proxy type (`rfc`, `legacy`, `none` for a plain certificate) */
  proxyType?: 'rfc' | 'legacy' | 'none'
  /** X509: the VO from the VOMS attribute certificate, null when there is none */
  vo: string | null
  /** X509: the VOMS FQANs (empty when there is no VOMS extension) */
  fqans: string[]
  /** X509: when the VOMS attribute certificate expires (may be before the proxy) */
  vomsExpiresAt: string | null
  /** token: scopes (`storage.read:/`, `compute.create`, ...) */
  scopes: string[]
  /** token: audiences */
  audience: string[]
  /** token: profile (`wlcg`, `scitokens`, `jwt`) */
  profile?: 'wlcg' | 'scitokens' | 'jwt'
  notBefore: string | null
  /** the earliest expiry that matters (proxy chain, VOMS AC, token exp) */
  expiresAt: string | null
  /** seconds from `checkedAt` to `expiresAt` (negative once expired); null when it never expires */
  secondsLeft: number | null
  expired: boolean
  /** why it is unusable (missing, unreadable, not a JWT, ...), human readable, no material */
  error: string | null
  checkedAt: string
}

export type CredentialPolicyMode = 'warn' | 'refuse'

export interface CredentialProblem {
  /** `credential-missing`, `credential-unreadable`, `credential-expired`, `credential-expires-during-run`, `credential-below-minimum`, `credential-not-yet-valid` */
  code: ProblemCode
  severity: 'error' | 'warning'
  kind: CredentialKind
  message: string
  hint?: string
  /** the credential it concerns, when one was found */
  path: string | null
}

export interface CredentialCheck {
  /** false when at least one problem is an error (dispatch must not go ahead) */
  ok: boolean
  problems: CredentialProblem[]
  statuses: CredentialStatus[]
}

/** a credential copied into a run directory (mode 0600), ready to be handed to jobs */
export interface StagedCredential {
  kind: CredentialKind
  /** absolute path of the staged copy (on the host the transport reaches) */
  path: string
  /** its basename (unique per kind: HTCondor transfers files by basename) */
  fileName: string
  /** the variable jobs read it from: X509_USER_PROXY or BEARER_TOKEN_FILE */
  envVar: 'X509_USER_PROXY' | 'BEARER_TOKEN_FILE'
  /** the status it had when staged */
  status: CredentialStatus
}
