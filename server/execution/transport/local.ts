import { spawn } from 'node:child_process'
import type { CommandResult, CommandTransport, RunOptions } from './types.ts'

export interface LocalTransportOptions {
  /** environment added to process.env for every command (e.g. SLURM_CONF) */
  env?: Record<string, string>
  /** default timeout (ms) when a call gives none; 0 = none */
  defaultTimeoutMs?: number
  /** output larger than this (bytes, per stream) is truncated; default 64 MiB */
  maxOutputBytes?: number
}

/**
 * Runs commands on this host with `spawn` (no shell: argv goes to execve unchanged).
 */
export class LocalTransport implements CommandTransport {
  readonly kind = 'local' as const
  readonly description = 'local'
  constructor(private readonly options: LocalTransportOptions = {}) {}

  run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (argv.length === 0) return Promise.reject(new Error('empty argv'))
    const env = { ...process.env, ...this.options.env, ...opts.env }
    const timeoutMs = opts.timeoutMs ?? this.options.defaultTimeoutMs ?? 0
    const max = this.options.maxOutputBytes ?? 64 * 1024 * 1024
    return spawnCollect(argv, { env, cwd: opts.cwd, stdin: opts.stdin, timeoutMs, maxOutputBytes: max })
  }
}

export interface SpawnCollectOptions {
  env: NodeJS.ProcessEnv
  cwd?: string
  stdin?: string
  timeoutMs: number
  maxOutputBytes: number
  /** run as this uid/gid (the caller is root); supplementary groups are dropped */
  uid?: number
  gid?: number
}

/** spawn argv, collect stdout/stderr, never reject for a non-zero exit */
export function spawnCollect(argv: string[], o: SpawnCollectOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    let settled = false
    let timedOut = false
    const out: Buffer[] = []
    const err: Buffer[] = []
    let outLen = 0
    let errLen = 0
    const child = spawn(argv[0]!, argv.slice(1), {
      env: o.env,
      cwd: o.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      // own process group, so a timeout kills the whole tree
      detached: true,
      ...(o.uid !== undefined ? { uid: o.uid } : {}),
      ...(o.gid !== undefined ? { gid: o.gid } : {}),
    })
    const finish = (code: number, extraErr = '') => {
      if (settled) return
      settled = true
      if (timer) clearTimeout(timer)
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + extraErr,
        ...(timedOut ? { timedOut: true } : {}),
      })
    }
    child.stdout.on('data', (b: Buffer) => {
      if (outLen < o.maxOutputBytes) out.push(b)
      outLen += b.length
    })
    child.stderr.on('data', (b: Buffer) => {
      if (errLen < o.maxOutputBytes) err.push(b)
      errLen += b.length
    })
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish(e.code === 'ENOENT' ? 127 : 126, `${argv[0]}: ${e.message}\n`)
    })
    child.on('close', (code, signal) => {
      if (timedOut) finish(124, `\n${argv[0]}: timed out after ${o.timeoutMs} ms\n`)
      else finish(code ?? 128 + signalNumber(signal))
    })
    const timer =
      o.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true
            try {
              process.kill(-child.pid!, 'SIGKILL')
            } catch {
              child.kill('SIGKILL')
            }
          }, o.timeoutMs)
        : null
    child.stdin.on('error', () => {
      /* EPIPE when the command does not read its stdin */
    })
    if (o.stdin !== undefined) child.stdin.end(o.stdin)
    else child.stdin.end()
  })
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 }
  return signal ? (table[signal] ?? 0) : 0
}
