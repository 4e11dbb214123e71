/**
 * Users mode: each account runs its tasks as its own OS user (the `osUser` of users.json), never
 * as the server's user, so a task cannot read the server's secrets, database or users list, nor
 * another account's run directories. This module resolves that OS user and says why a run cannot
 * be isolated when it cannot (the run is then refused, never run as the server's user).
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { type RunAs, RunAsSchema } from '../execution/types.ts'
import { sshRefusal } from '../execution/transport/index.ts'
import { usersModeExternalRefusal } from '../execution/backends/dask/as-user.ts'

export type { RunAs }

export type RunAsResult = { ok: true; runAs: RunAs } | { ok: false; reason: string }

/** The passwd entry of an OS user (null when there is none). */
export function lookupOsUser(name: string): RunAs | null {
  if (!/^[a-z_][a-z0-9_.-]{0,31}\$?$/i.test(name)) return null
  let line: string
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', timeout: 5000 }).trim()
  } catch {
    return null
  }
  const f = line.split('\n')[0]?.split(':') ?? []
  const uid = Number(f[2])
  const gid = Number(f[3])
  if (f[0] !== name || !Number.isInteger(uid) || !Number.isInteger(gid)) return null
  return { user: name, uid, gid, home: f[5] || '/' }
}

/** Can this process start processes as another user? (root, on a POSIX host) */
export function canSwitchUsers(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0
}

/**
 * The OS user the account's tasks run as, or why there is none. `account` is the users.json
 * entry (its `osUser`); `where` names what would run ("local tasks", "Slurm jobs") in the reason.
 */
export function resolveRunAs(account: { name: string; osUser?: string } | undefined, where: string): RunAsResult {
  const fix = 'set "osUser" for the account in users.json (see README, Security)'
  if (!account)
    return { ok: false, reason: `users mode: this account is not in the users list, so ${where} cannot run` }
  if (!account.osUser)
    return {
      ok: false,
      reason: `users mode: account "${account.name}" has no OS user, so its ${where} would run as the server's user and could read its secrets; ${fix}`,
    }
  const runAs = lookupOsUser(account.osUser)
  if (!runAs)
    return {
      ok: false,
      reason: `users mode: the OS user "${account.osUser}" of account "${account.name}" does not exist on this host; create it (useradd) or fix "osUser" in users.json`,
    }
  if (runAs.uid === 0)
    return {
      ok: false,
      reason: `users mode: account "${account.name}" maps to root; map it to an unprivileged OS user`,
    }
  const self = typeof process.getuid === 'function' ? process.getuid() : -1
  if (runAs.uid === self)
    return {
      ok: false,
      reason: `users mode: account "${account.name}" maps to the server's own OS user (${os.userInfo().username}); its ${where} could read the server's secrets: map it to a user of its own`,
    }
  if (!canSwitchUsers())
    return {
      ok: false,
      reason: `users mode: the server runs as ${os.userInfo().username}, not root, so it cannot start ${where} as "${account.osUser}"; run the server as root (it switches to each account's OS user), or use token mode on a single-user host`,
    }
  const checked = RunAsSchema.safeParse(runAs)
  if (!checked.success)
    return { ok: false, reason: `users mode: OS user "${account.osUser}": ${checked.error.issues[0]?.message}` }
  return { ok: true, runAs: checked.data }
}

/** the existing Dask scheduler a plan would use (execution.config or the site's dask section) */
function existingScheduler(plan: { config?: Record<string, unknown> | null }, site: { dask?: unknown } | null) {
  for (const c of [plan.config, site?.dask as Record<string, unknown> | undefined]) {
    const v = c?.scheduler_address ?? c?.schedulerAddress
    if (typeof v === 'string' && v.trim()) return v.trim()
  }
  return null
}

/**
 * Why users mode cannot run this plan under the account's OS user, or null when it can:
 * - local tasks run as that user (executors started with its uid/gid);
 * - Slurm and HTCondor jobs are submitted as that user on this host (transport/as-user.ts), but not
 *   through an ssh login host (one login serves the server: no per-account keys);
 * - the Dask backend starts the run's scheduler, workers and bridge as that user, over the run's
 *   mutual TLS (backends/dask/as-user.ts); an existing scheduler (scheduler_address) is refused:
 *   its workers run as whoever started them and anyone who reaches it can submit to it;
 * - credentials (x509 proxy, bearer token) are found in the server's environment: they are the
 *   server's own, and staging them into an account's jobs would hand them over.
 */
export function isolationProblem(
  plan: { strategy: string; backend: string; credentials?: unknown[] | null; config?: Record<string, unknown> | null },
  site: { ssh?: { host: string } | null; dask?: unknown } | null,
): string | null {
  const existing = plan.backend === 'dask' ? existingScheduler(plan, site) : null
  if (existing) return usersModeExternalRefusal(existing)
  if ((plan.strategy === 'slurm' || plan.strategy === 'htcondor') && site?.ssh) return sshRefusal(site.ssh.host)
  if (plan.credentials?.length)
    return "users mode: this workflow needs credentials (execution.credentials), but the ones this server finds are its own (its environment's proxy or token), and handing them to an account's jobs would give them away; remove execution.credentials and let the jobs use the account's own, or use token mode"
  return null
}
