/**
 * The credential badge's colour from time left: red when a credential is expired, unusable or has
 * less than an hour left; yellow under 6 hours; green otherwise (or when it never expires).
 * The whole badge takes the worst of its credentials.
 */
export type CredentialLevel = 'ok' | 'warn' | 'bad' | 'none'

export interface BadgeCredential {
  kind: 'x509' | 'scitoken'
  readable: boolean
  expired: boolean
  secondsLeft: number | null
}

export const RED_BELOW_SECONDS = 3600
export const YELLOW_BELOW_SECONDS = 6 * 3600

export function credentialLevel(c: BadgeCredential): Exclude<CredentialLevel, 'none'> {
  if (!c.readable || c.expired) return 'bad'
  if (c.secondsLeft === null) return 'ok'
  if (c.secondsLeft < RED_BELOW_SECONDS) return 'bad'
  if (c.secondsLeft < YELLOW_BELOW_SECONDS) return 'warn'
  return 'ok'
}

export function badgeLevel(cs: BadgeCredential[]): CredentialLevel {
  if (!cs.length) return 'none'
  const levels = cs.map(credentialLevel)
  return levels.includes('bad') ? 'bad' : levels.includes('warn') ? 'warn' : 'ok'
}

/** `2h 05m`, `3d 4h`, `12m`, `expired` */
export function timeLeftText(c: BadgeCredential): string {
  if (!c.readable) return 'unreadable'
  if (c.expired) return 'expired'
  if (c.secondsLeft === null) return 'no expiry'
  const s = Math.max(0, Math.round(c.secondsLeft))
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`
  if (m > 0) return `${m}m`
  return `${s}s`
}
