/**
 * SciToken / WLCG bearer token inspection: the JWT is decoded with `jose` WITHOUT verifying its
 * signature (that needs the issuer's keys over the network; here we only read lifetime and scopes
 * to warn the user). The token itself is never returned.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose'

export interface TokenInspection {
  issuer: string | null
  subject: string | null
  /** `aud` as a list ("https://wlcg.cern.ch/jwt/v1/any" = any audience) */
  audience: string[]
  /** `scope` split on blanks (SciTokens / WLCG: `storage.read:/ compute.create`) */
  scopes: string[]
  /** WLCG groups (`wlcg.groups`) when present */
  groups: string[]
  issuedAt: Date | null
  notBefore: Date | null
  /** null when the token has no `exp` (it never expires, which WLCG profiles do not allow) */
  expiresAt: Date | null
  /** `wlcg` when it carries `wlcg.ver`, `scitokens` when `ver` is scitoken:2.0 or similar */
  profile: 'wlcg' | 'scitokens' | 'jwt'
  algorithm: string | null
  keyId: string | null
}

export class TokenInspectError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TokenInspectError'
  }
}

/** a token file holds the token, possibly with surrounding blanks/newlines (WLCG discovery spec) */
export function normaliseTokenText(text: string): string {
  return text.trim()
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** numeric date claims; some minting tools (scitokens-create --claim exp=...) write them as strings */
function numericDate(v: unknown): Date | null {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000)
  if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim())) return new Date(Number(v) * 1000)
  return null
}

function stringList(v: unknown): string[] {
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean)
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string')
  return []
}

export function inspectToken(raw: string): TokenInspection {
  const token = normaliseTokenText(raw)
  if (!token) throw new TokenInspectError('the token is empty')
  if (!JWT_SHAPE.test(token))
    throw new TokenInspectError('not a JWT (expected three base64url parts separated by dots)')
  let payload: Record<string, unknown>
  let header: Record<string, unknown>
  try {
    payload = decodeJwt(token) as Record<string, unknown>
    header = decodeProtectedHeader(token) as Record<string, unknown>
  } catch (e) {
    throw new TokenInspectError(`the JWT could not be decoded: ${(e as Error).message}`)
  }
  const aud = payload.aud
  const audience = typeof aud === 'string' ? [aud] : stringList(aud)
  const ver = typeof payload.ver === 'string' ? payload.ver : ''
  return {
    issuer: typeof payload.iss === 'string' ? payload.iss : null,
    subject: typeof payload.sub === 'string' ? payload.sub : null,
    audience,
    scopes: stringList(payload.scope),
    groups: stringList(payload['wlcg.groups']),
    issuedAt: numericDate(payload.iat),
    notBefore: numericDate(payload.nbf),
    expiresAt: numericDate(payload.exp),
    profile: payload['wlcg.ver'] !== undefined ? 'wlcg' : ver.startsWith('scitoken') ? 'scitokens' : 'jwt',
    algorithm: typeof header.alg === 'string' ? header.alg : null,
    keyId: typeof header.kid === 'string' ? header.kid : null,
  }
}
