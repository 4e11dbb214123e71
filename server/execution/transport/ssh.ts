import { mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnCollect } from './local.ts'
import { isEnvName, shellJoin, shellQuote } from './quote.ts'
import type { CommandResult, CommandTransport, RunOptions } from './types.ts'

export interface SshTransportOptions {
  /** login host name or address */
  host: string
  user?: string
  port?: number
  /** private key file (`ssh -i`) */
  identityFile?: string
  /** known_hosts file to use instead of ~/.ssh/known_hosts */
  knownHostsFile?: string
  /** `yes` (default), `accept-new` or `no` */
  strictHostKeyChecking?: 'yes' | 'accept-new' | 'no'
  /** extra `-o Key=Value` options */
  options?: string[]
  /** seconds the shared connection stays open after the last command (ControlPersist); default 60 */
  controlPersistSeconds?: number
  /** directory for the ControlMaster sockets; default a private dir under the OS temp dir */
  controlDir?: string
  /** environment set on the remote side for every command (through `env K=V ...`) */
  env?: Record<string, string>
  /** the ssh program; default `ssh` from PATH */
  sshPath?: string
  connectTimeoutSeconds?: number
  defaultTimeoutMs?: number
}

/**
 * Runs commands on a remote host (a cluster's login node) through the system `ssh` client.
 *
 * - BatchMode: never prompts (keys or an agent only); a refused login is an error, not a hang.
 * - ControlMaster=auto + ControlPersist: one TCP/SSH connection is reused by every command, so a
 *   poll costs one round trip instead of a full handshake.
 * - argv is quoted for the remote POSIX shell word by word (`ssh` joins its arguments with spaces
 *   and the remote login shell re-splits them; quoting makes that an identity).
 */
export class SshTransport implements CommandTransport {
  readonly kind = 'ssh' as const
  readonly description: string
  private readonly controlPath: string

  constructor(private readonly o: SshTransportOptions) {
    if (!o.host) throw new Error('ssh transport: host is required')
    const dir = o.controlDir ?? path.join(os.tmpdir(), `controlroom-ssh-${process.getuid?.() ?? 'u'}`)
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    // %C is a hash of (local host, remote host, port, user): short enough for the 104-byte socket path limit
    this.controlPath = path.join(dir, 'cm-%C')
    this.description = `ssh ${o.user ? `${o.user}@` : ''}${o.host}${o.port ? `:${o.port}` : ''}`
  }

  /** the ssh options shared by all invocations (exposed for tests and diagnostics) */
  sshArgs(): string[] {
    const o = this.o
    const args = [
      '-o',
      'BatchMode=yes',
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${this.controlPath}`,
      '-o',
      `ControlPersist=${o.controlPersistSeconds ?? 60}`,
      '-o',
      `ConnectTimeout=${o.connectTimeoutSeconds ?? 15}`,
      '-o',
      'ServerAliveInterval=15',
      '-o',
      `StrictHostKeyChecking=${o.strictHostKeyChecking ?? 'yes'}`,
      '-o',
      'LogLevel=ERROR',
    ]
    if (o.knownHostsFile) args.push('-o', `UserKnownHostsFile=${o.knownHostsFile}`)
    if (o.identityFile) args.push('-i', o.identityFile, '-o', 'IdentitiesOnly=yes')
    if (o.port) args.push('-p', String(o.port))
    if (o.user) args.push('-l', o.user)
    for (const opt of o.options ?? []) args.push('-o', opt)
    return args
  }

  /** the remote shell command line for argv (quoted), with env and cwd */
  remoteCommand(argv: string[], opts: RunOptions = {}): string {
    const env = { ...this.o.env, ...opts.env }
    const envWords: string[] = []
    for (const [k, v] of Object.entries(env)) {
      if (!isEnvName(k)) throw new Error(`invalid environment variable name: ${JSON.stringify(k)}`)
      envWords.push(`${k}=${v}`)
    }
    const cmd = envWords.length ? shellJoin(['env', ...envWords, ...argv]) : shellJoin(argv)
    return opts.cwd ? `cd ${shellQuote(opts.cwd)} && ${cmd}` : cmd
  }

  run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (argv.length === 0) return Promise.reject(new Error('empty argv'))
    const full = [this.o.sshPath ?? 'ssh', ...this.sshArgs(), this.o.host, '--', this.remoteCommand(argv, opts)]
    return spawnCollect(full, {
      env: process.env,
      stdin: opts.stdin,
      timeoutMs: opts.timeoutMs ?? this.o.defaultTimeoutMs ?? 0,
      maxOutputBytes: 64 * 1024 * 1024,
    })
  }

  /** true when a control master connection is currently open */
  async isMasterRunning(): Promise<boolean> {
    const r = await spawnCollect([this.o.sshPath ?? 'ssh', ...this.sshArgs(), '-O', 'check', this.o.host], {
      env: process.env,
      timeoutMs: 10_000,
      maxOutputBytes: 1 << 20,
    })
    return r.code === 0
  }

  async close(): Promise<void> {
    await spawnCollect([this.o.sshPath ?? 'ssh', ...this.sshArgs(), '-O', 'exit', this.o.host], {
      env: process.env,
      timeoutMs: 10_000,
      maxOutputBytes: 1 << 20,
    })
  }
}
