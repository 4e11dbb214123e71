/**
 * Staging: a credential is copied into the run directory with mode 0600 (directory 0700), and the
 * job is told where it is:
 *  - shared file system (Slurm, HTCondor without file transfer): the absolute path of the copy in
 *    `X509_USER_PROXY` / `BEARER_TOKEN_FILE`;
 *  - HTCondor file transfer: `x509userproxy = <copy>` (HTCondor ships the proxy with the job and
 *    sets X509_USER_PROXY itself), the token in `transfer_input_files` and `BEARER_TOKEN_FILE`
 *    pointing at its copy in the job's scratch directory.
 * The material goes from file to file (or through the stdin of one remote command): it is never
 * on a command line, in a returned value or in a log.
 */
import { chmod, mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises'
import path from 'node:path'
import type { CommandTransport } from '../execution/transport/types.ts'
import type { CredentialLocation, CredentialStatus, StagedCredential } from './types.ts'

export const STAGED_NAMES = { x509: 'x509_proxy', scitoken: 'bearer_token' } as const
export const STAGED_ENV = { x509: 'X509_USER_PROXY', scitoken: 'BEARER_TOKEN_FILE' } as const

export interface StageOptions {
  /** write through this transport (a run directory on a login node); default: this host's file system */
  transport?: CommandTransport
  /** sub-directory of the run directory (default `credentials`) */
  subdir?: string
  /** environment that holds BEARER_TOKEN (default process.env) */
  env?: Record<string, string | undefined>
}

export class CredentialStageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CredentialStageError'
  }
}

async function readMaterial(loc: CredentialLocation, env: Record<string, string | undefined>): Promise<Buffer> {
  if (loc.valueEnv) {
    const v = env[loc.valueEnv]
    if (!v?.trim()) throw new CredentialStageError(`$${loc.valueEnv} is not set`)
    return Buffer.from(v.trim() + '\n', 'utf8')
  }
  if (!loc.path) throw new CredentialStageError(`no ${loc.kind} credential location`)
  try {
    return await readFile(loc.path)
  } catch (e) {
    throw new CredentialStageError(`could not read ${loc.path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

async function writeLocal0600(dest: string, data: Buffer): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 })
  await chmod(path.dirname(dest), 0o700)
  const tmp = `${dest}.tmp.${process.pid}.${Date.now()}`
  // O_EXCL + mode 0600 at creation: the data never sits in a file others can read
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(data)
    await fh.chmod(0o600)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, dest)
  } catch (e) {
    await unlink(tmp).catch(() => {})
    throw e
  }
}

async function writeRemote0600(t: CommandTransport, dest: string, data: Buffer): Promise<void> {
  // umask 077 before anything is created; the content arrives on stdin, the path as $1
  const script =
    'set -e; umask 077; d=$(dirname -- "$1"); mkdir -p -- "$d"; chmod 700 -- "$d"; ' +
    'cat > "$1.tmp.$$"; chmod 600 -- "$1.tmp.$$"; mv -f -- "$1.tmp.$$" "$1"'
  const r = await t.run(['sh', '-c', script, 'sh', dest], { stdin: data.toString('utf8'), timeoutMs: 60_000 })
  if (r.code !== 0)
    throw new CredentialStageError(
      `could not stage a credential to ${dest} via ${t.description}: ${r.stderr.trim() || `exit ${r.code}`}`,
    )
}

/** copy one credential into `<runDir>/<subdir>/<x509_proxy|bearer_token>` with mode 0600 */
export async function stageCredential(
  loc: CredentialLocation,
  status: CredentialStatus,
  runDir: string,
  opts: StageOptions = {},
): Promise<StagedCredential> {
  const fileName = STAGED_NAMES[loc.kind]
  const dest = path.posix.join(runDir, opts.subdir ?? 'credentials', fileName)
  const data = await readMaterial(loc, opts.env ?? process.env)
  try {
    if (opts.transport && opts.transport.kind !== 'local') await writeRemote0600(opts.transport, dest, data)
    else await writeLocal0600(dest, data)
  } finally {
    data.fill(0)
  }
  return { kind: loc.kind, path: dest, fileName, envVar: STAGED_ENV[loc.kind], status }
}

export type CredentialDelivery = 'shared-path' | 'transfer'

export interface JobCredentialSetup {
  /** variables with static values (absolute paths on a shared file system) */
  env: Record<string, string>
  /** shell lines for the job script (transfer: point the variables at the scratch copies) */
  lines: string[]
  /** files the batch system must transfer with the job (HTCondor `transfer_input_files`) */
  transferInputFiles: string[]
  /** HTCondor `x509userproxy` (the staged proxy) */
  x509userproxy: string | null
}

/**
 * How a job finds the staged credentials.
 * `shared-path`: the job reads the copies in the run directory (Slurm; HTCondor without transfer).
 * `transfer`: HTCondor copies them into the job's scratch directory.
 */
export function jobCredentialSetup(staged: StagedCredential[], delivery: CredentialDelivery): JobCredentialSetup {
  const out: JobCredentialSetup = { env: {}, lines: [], transferInputFiles: [], x509userproxy: null }
  for (const s of staged) {
    if (s.kind === 'x509') out.x509userproxy = s.path
    if (delivery === 'shared-path') {
      out.env[s.envVar] = s.path
      continue
    }
    const scratchCopy = `"\${_CONDOR_SCRATCH_DIR:-$PWD}/${s.fileName}"`
    if (s.kind === 'x509') {
      // HTCondor transfers x509userproxy itself and sets X509_USER_PROXY; keep a fallback
      out.lines.push(
        `if [ -z "\${X509_USER_PROXY:-}" ] && [ -f ${scratchCopy} ]; then export X509_USER_PROXY=${scratchCopy}; fi`,
      )
    } else {
      out.transferInputFiles.push(s.path)
      out.env.BEARER_TOKEN_FILE = s.fileName
      out.lines.push(`export BEARER_TOKEN_FILE=${scratchCopy}`)
      out.lines.push('chmod 600 "$BEARER_TOKEN_FILE" 2>/dev/null || true')
    }
  }
  return out
}

/**
 * Remove a run's staged credentials (`<runDir>/<subdir>/`) when the run has ended: a staged proxy
 * or token must not outlive the jobs that needed it. Missing is fine.
 */
export async function removeStagedCredentials(
  runDir: string,
  opts: { transport?: CommandTransport; subdir?: string } = {},
): Promise<void> {
  const dir = path.posix.join(runDir, opts.subdir ?? 'credentials')
  if (opts.transport && opts.transport.kind !== 'local') {
    const r = await opts.transport.run(['rm', '-rf', '--', dir], { timeoutMs: 60_000 })
    if (r.code !== 0) throw new CredentialStageError(`could not remove ${dir}: ${r.stderr.trim() || `exit ${r.code}`}`)
    return
  }
  await rm(dir, { recursive: true, force: true })
}
