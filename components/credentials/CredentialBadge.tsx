'use client'
/**
 * The credential badge (top bar): the X509 proxy and bearer token the server would hand to jobs,
 * with their time left. Green / yellow / red by time left (./level.ts), "no credentials" when none
 * is found. Data: tRPC `credentials.status` (browser-safe statuses: never any secret material).
 * Time left counts down locally between refreshes (every minute).
 */
import { useQuery } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import { useTRPC } from '~/components/trpc/client'
import { badgeLevel, timeLeftText, type BadgeCredential } from './level'

const NAME = { x509: 'X509 proxy', scitoken: 'token' } as const

export function CredentialBadge() {
  const trpc = useTRPC()
  const q = useQuery({
    ...trpc.credentials.status.queryOptions(),
    refetchInterval: 60_000,
    refetchOnWindowFocus: true,
    retry: false,
  })
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 15_000)
    return () => clearInterval(t)
  }, [])
  if (q.isPending) return null
  if (q.error) return null // e.g. not signed in: the page itself says so
  const fetchedAt = Date.parse(q.data.checkedAt)
  const creds: (BadgeCredential & (typeof q.data.credentials)[number])[] = q.data.credentials.map((c) => {
    const left = c.secondsLeft === null ? null : c.secondsLeft - Math.max(0, (now - fetchedAt) / 1000)
    return { ...c, secondsLeft: left, expired: c.expired || (left !== null && left <= 0) }
  })
  const level = badgeLevel(creds)
  const title = creds.length
    ? creds
        .map((c) =>
          [
            `${NAME[c.kind]} (${c.source}): ${timeLeftText(c)}${c.expiresAt ? `, expires ${new Date(c.expiresAt).toLocaleString()}` : ''}`,
            c.subject ? `  subject: ${c.subject}` : null,
            c.issuer ? `  issuer: ${c.issuer}` : null,
            c.vo ? `  VO: ${c.vo}${c.fqans.length ? ` (${c.fqans.join(', ')})` : ''}` : null,
            c.scopes.length ? `  scopes: ${c.scopes.join(' ')}` : null,
            c.audience.length ? `  audience: ${c.audience.join(' ')}` : null,
            c.error ? `  ${c.error}` : null,
          ]
            .filter(Boolean)
            .join('\n'),
        )
        .join('\n')
    : 'No X509 proxy or bearer token found (X509_USER_PROXY, /tmp/x509up_u$UID, BEARER_TOKEN, BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u$UID, /tmp/bt_u$UID)'
  return (
    <span className={`credential-badge level-${level}`} data-testid="credential-badge" data-level={level} title={title}>
      {creds.length
        ? creds.map((c) => (
            <span key={c.id} className="credential-item" data-kind={c.kind}>
              {c.kind === 'x509' ? 'proxy' : 'token'} {timeLeftText(c)}
            </span>
          ))
        : 'no credentials'}
    </span>
  )
}
