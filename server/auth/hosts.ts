/**
 * Host-header allow-list, in front of every route (server/auth/gate.ts): a page of another site
 * whose DNS name is re-bound to this machine (DNS rebinding) reaches the server with its own name
 * in `Host`, and is refused here before the access check.
 *
 * CONTROLROOM_ALLOWED_HOSTS: comma-separated `host` or `host:port` (IPv6 in brackets), `*` allows
 * any. Default: the names of this server: localhost, 127.0.0.1, [::1], $HOST (when it is not a
 * wildcard), this machine's hostname and the addresses of its network interfaces, on any port.
 */
import os from 'node:os'
import { readSetting } from '../settings.ts'

function normalize(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '')
}

/** `host[:port]` split (IPv6 in brackets keeps them). */
export function splitHost(value: string): { name: string; port: string | null } {
  const v = normalize(value)
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(v)
  if (!m) return { name: v, port: null }
  return { name: m[1]!, port: m[2] ?? null }
}

function defaultNames(): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]'])
  const host = readSetting('HOST')
  if (host && host !== '0.0.0.0' && host !== '::' && host !== '[::]')
    names.add(host.includes(':') && !host.startsWith('[') ? `[${normalize(host)}]` : normalize(host))
  try {
    names.add(normalize(os.hostname()))
  } catch {
    /* no hostname */
  }
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) names.add(a.family === 'IPv6' ? `[${a.address.toLowerCase()}]` : a.address)
  return names
}

let cache: { key: string; allowAll: boolean; names: Set<string>; exact: Set<string> } | null = null

function allowList() {
  const key = readSetting('CONTROLROOM_ALLOWED_HOSTS') ?? ''
  if (cache?.key === key) return cache
  const entries = key
    .split(',')
    .map((s) => normalize(s))
    .filter(Boolean)
  const names = entries.length ? new Set<string>() : defaultNames()
  const exact = new Set<string>()
  for (const e of entries) {
    const { name, port } = splitHost(e)
    if (port) exact.add(`${name}:${port}`)
    else names.add(name)
  }
  cache = { key, allowAll: entries.includes('*'), names, exact }
  return cache
}

/** null when the Host header names this server, else the reason (with how to allow it). */
export function hostProblem(hostHeader: string | null): string | null {
  const list = allowList()
  if (list.allowAll) return null
  if (!hostHeader) return 'the request has no Host header'
  const { name, port } = splitHost(hostHeader)
  if (list.names.has(name) || (port && list.exact.has(`${name}:${port}`))) return null
  const current = readSetting('CONTROLROOM_ALLOWED_HOSTS')
  return `this server does not answer to the host name "${hostHeader.slice(0, 200)}" (a defence against DNS rebinding). If it is a name of this server, add it to CONTROLROOM_ALLOWED_HOSTS (comma-separated host or host:port; currently ${
    current ? `"${current}"` : 'unset: localhost names, $HOST and this machine’s names'
  })`
}
