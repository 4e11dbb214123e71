/**
 * Users mode on a batch system, the way Open OnDemand does it: the server (root) runs the batch
 * commands of an account's run (sbatch, squeue, scancel; condor_submit, condor_q, condor_rm) as the
 * account's OS user, so the batch system itself records that user as the owner, runs the jobs as
 * it, and lets it see and cancel only its own jobs. The files the jobs use (scripts, submit
 * descriptions, log directories) are written through these commands too, so they belong to that
 * user (kind `as-user`: callers never use the server's own file system calls for them).
 *
 * The environment is built from an allow-list (task-env.ts), never inherited from the server: the
 * dashboard's token, session secret, database URL or cloud keys never reach a job (sbatch exports
 * the submitting environment into the job). The batch system's own configuration variables are
 * passed (SLURM_CONF, CONDOR_CONFIG, _CONDOR_*), and the site's `slurm.env` / `htcondor.env` come
 * with each command from the clients.
 */
import { existsSync } from 'node:fs'
import { canSwitchUsers } from '../../auth/os-user.ts'
import { taskBaseEnv } from '../task-env.ts'
import type { RunAs } from '../types.ts'
import { spawnCollect } from './local.ts'
import type { CommandResult, CommandTransport, RunOptions } from './types.ts'

/** the batch systems' configuration variables a user's commands need to find their cluster */
const BATCH_CONFIG_ENV = /^(SLURM_CONF|CONDOR_CONFIG|_CONDOR_[A-Za-z0-9_]+)$/

export interface AsUserTransportOptions {
  /** environment added to every command (after the allow-list) */
  env?: Record<string, string>
  defaultTimeoutMs?: number
  maxOutputBytes?: number
  /** the environment the allow-list picks from (default process.env; tests) */
  from?: Record<string, string | undefined>
}

/** the environment of a command run as `runAs`: allow-listed, with that user's HOME/USER */
export function asUserEnv(
  runAs: RunAs,
  from: Record<string, string | undefined> = process.env,
): Record<string, string> {
  const env = taskBaseEnv(from, runAs)
  for (const [k, v] of Object.entries(from)) if (v !== undefined && BATCH_CONFIG_ENV.test(k)) env[k] = v
  return env
}

export class AsUserTransport implements CommandTransport {
  readonly kind = 'as-user' as const
  readonly description: string

  constructor(
    readonly runAs: RunAs,
    private readonly o: AsUserTransportOptions = {},
  ) {
    if (!canSwitchUsers())
      throw new Error(`cannot run commands as ${runAs.user}: the server is not root, so it cannot switch users`)
    this.description = `local, as ${runAs.user}`
  }

  run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (argv.length === 0) return Promise.reject(new Error('empty argv'))
    return spawnCollect(argv, {
      env: { ...asUserEnv(this.runAs, this.o.from), ...this.o.env, ...opts.env } as NodeJS.ProcessEnv,
      // the server's working directory may be closed to the user; its home is its own
      cwd: opts.cwd ?? (existsSync(this.runAs.home) ? this.runAs.home : '/'),
      stdin: opts.stdin,
      timeoutMs: opts.timeoutMs ?? this.o.defaultTimeoutMs ?? 0,
      maxOutputBytes: this.o.maxOutputBytes ?? 64 * 1024 * 1024,
      uid: this.runAs.uid,
      gid: this.runAs.gid,
    })
  }
}
