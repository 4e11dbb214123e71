/**
 * Users mode on Dask: the scheduler, the workers and the bridge of an account's run are processes
 * of the account's OS user, never of the server's (root), and they talk over mutual TLS with a key
 * made for the run, so that no other local user can connect to them (a Dask scheduler runs whatever
 * a connected client sends it, as its own user).
 *
 *  - `prepareUserDask` creates <runDir>/dask (and its `workers`, `tls` directories) and the run's
 *    TLS key and self-signed certificate (0600), as the account's user: the server writes nothing
 *    in a directory that user owns (a symlink planted there could redirect a write of root's).
 *  - the processes get an allow-listed environment (task-env.ts) with that user's HOME and USER:
 *    none of the server's variables (its token, its home, its database URL) reach them or a task.
 *  - what the server reads back (the scheduler file, log tails) is read only when it is a regular
 *    file owned by that user (`readOwned`): a link to a file of root's is not read.
 *  - the bridge's events are data: the server never kills a pid it reports unless that process
 *    belongs to the account's user.
 */
import { execFile } from 'node:child_process'
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs'
import path from 'node:path'
import { taskBaseEnv } from '../../task-env.ts'
import type { RunAs } from '../../types.ts'

export interface DaskTls {
  /** the run's self-signed certificate: the CA every side checks the others against */
  ca: string
  cert: string
  key: string
}

export interface DaskUser {
  runAs: RunAs
  tls: DaskTls
}

/** the TLS files of a run's Dask directory */
export function tlsFiles(daskDir: string): DaskTls {
  const d = path.join(daskDir, 'tls')
  return { ca: path.join(d, 'cert.pem'), cert: path.join(d, 'cert.pem'), key: path.join(d, 'key.pem') }
}

/** the environment of a Dask process run as `runAs` (scheduler, worker, bridge) */
export function daskUserEnv(runAs: RunAs, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string> = { ...taskBaseEnv(process.env, runAs), ...extra, PYTHONUNBUFFERED: '1' }
  return env as NodeJS.ProcessEnv
}

/** run argv as `runAs` (allow-listed environment), resolve with its output; reject with its stderr */
export function runAsUser(
  runAs: RunAs,
  argv: string[],
  timeoutMs = 30_000,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { uid: runAs.uid, gid: runAs.gid, env: daskUserEnv(runAs), cwd: '/', timeout: timeoutMs, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(
              `${String(stderr || err.message)
                .trim()
                .split('\n')
                .slice(-2)
                .join(' | ')}`,
            ),
          )
        else resolve({ stdout, stderr })
      },
    )
  })
}

const PREPARE = [
  'set -e',
  'umask 077',
  'd="$1"',
  'mkdir -p "$d/workers/space" "$d/tls"',
  'chmod 700 "$d" "$d/tls"',
  'rm -f "$d/tls/key.pem" "$d/tls/cert.pem" "$d/scheduler.json"',
  // a self-signed certificate is the run's CA: Dask checks every peer against it (mutual TLS)
  'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj /CN=controlroom-dask -keyout "$d/tls/key.pem" -out "$d/tls/cert.pem" 2>&1',
].join('\n')

/** create the run's Dask directory and TLS credentials as the account's user */
export async function prepareUserDask(daskDir: string, runAs: RunAs): Promise<DaskUser> {
  try {
    await runAsUser(runAs, ['/bin/sh', '-c', PREPARE, 'prepare', daskDir])
  } catch (e) {
    throw new Error(
      `users mode: cannot prepare the Dask directory ${daskDir} and its TLS key as ${runAs.user}: ${(e as Error).message}`,
    )
  }
  return { runAs, tls: tlsFiles(daskDir) }
}

/** `dask scheduler` / `dask worker` options for the run's mutual TLS */
export function tlsCliArgs(tls: DaskTls): string[] {
  return ['--tls-ca-file', tls.ca, '--tls-cert', tls.cert, '--tls-key', tls.key]
}

/**
 * The text of a file the account's user owns, or null: opened without following a final symlink,
 * and read only when it is a regular file of that uid (what that user could read anyway).
 * `maxBytes`: only the last bytes (log tails).
 */
export function readOwned(file: string, uid: number, maxBytes = 1 << 20): string | null {
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch {
    return null
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile() || st.uid !== uid) return null
    const n = Math.min(st.size, maxBytes)
    const buf = Buffer.alloc(n)
    readSync(fd, buf, 0, n, Math.max(0, st.size - n))
    return buf.toString('utf8')
  } catch {
    return null
  } finally {
    closeSync(fd)
  }
}

/** the real uid of a live process (null when it is gone) */
export function processUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

/** why users mode cannot use an existing Dask scheduler */
export function usersModeExternalRefusal(address: string): string {
  return `users mode: the existing Dask scheduler ${address} (execution.config.scheduler_address or the site's dask.scheduler_address) cannot run an account's tasks as its own OS user: its workers run as whoever started them, and every user who can reach it can submit to it; remove scheduler_address so that the run starts its own scheduler and workers as the account's user (strategy local, slurm or htcondor), or use token mode`
}
