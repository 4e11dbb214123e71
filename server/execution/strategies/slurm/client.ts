/**
 * The Slurm commands, run through a CommandTransport (this host or an ssh login node).
 * Every method is one command; callers batch (one squeue per poll for a whole run).
 */
import path from 'node:path'
import type { CommandResult, CommandTransport } from '../../transport/types.ts'
import {
  parseSacct,
  parseScontrolJobs,
  parseSqueueFormat,
  parseSqueueJson,
  SACCT_FIELDS,
  SQUEUE_FIELDS,
  type SlurmJobRecord,
} from './status.ts'

export type SqueueMode = 'auto' | 'json' | 'format'

export interface SlurmClientOptions {
  binDir?: string | null
  /**
   * How squeue is read. `json`: `squeue --json`. `format`: `squeue -h -t all -O ...` (text).
   * `auto`: json when Slurm applies filters to --json (23.02+), else format: Slurm 22.05 ignores
   * --name/--jobs with --json and dumps EVERY job of the cluster on each call. Default `json`;
   * SlurmJobs (the slurm strategy) passes the site's `slurm.squeue`, which defaults to `auto`.
   */
  squeueMode?: SqueueMode
  env?: Record<string, string>
  /** timeout for each command (ms); default 60 s */
  timeoutMs?: number
}

export interface SubmitResult {
  ok: true
  jobId: string
  cluster: string | null
  stderr: string
}
export interface SubmitFailure {
  ok: false
  code: number
  stderr: string
  stdout: string
}

export class SlurmCommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: CommandResult,
  ) {
    super(
      `${command} failed (exit ${result.code}): ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ')}`,
    )
    this.name = 'SlurmCommandError'
  }
}

/** parse `sbatch --parsable` stdout: `jobid` or `jobid;cluster` (the last such line) */
export function parseSbatchParsable(stdout: string): { jobId: string; cluster: string | null } | null {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^(\d+)(?:;(\S+))?$/.exec(lines[i]!)
    if (m) return { jobId: m[1]!, cluster: m[2] ?? null }
  }
  return null
}

export class SlurmClient {
  /** 'unknown' until first used; 'none' when the cluster has no accounting storage */
  private accounting: 'unknown' | 'dbd' | 'none' = 'unknown'
  private jobcompAvailable = true
  /** counts of commands run, by program (for tests and the bench) */
  readonly calls: Record<string, number> = {}

  constructor(
    readonly transport: CommandTransport,
    private readonly o: SlurmClientOptions = {},
  ) {}

  private bin(name: string): string {
    return this.o.binDir ? path.posix.join(this.o.binDir, name) : name
  }

  async run(program: string, args: string[], stdin?: string): Promise<CommandResult> {
    this.calls[program] = (this.calls[program] ?? 0) + 1
    return this.transport.run([this.bin(program), ...args], {
      ...(this.o.env && Object.keys(this.o.env).length ? { env: this.o.env } : {}),
      ...(stdin !== undefined ? { stdin } : {}),
      timeoutMs: this.o.timeoutMs ?? 60_000,
    })
  }

  /**
   * sbatch --parsable [args] scriptPath (or the script on stdin when scriptPath is null).
   * sbatch saves the submitting environment with the job and exports it to the job: secrets of
   * this process (a raw BEARER_TOKEN, the dashboard's token) are removed first, so that they are
   * neither stored by Slurm nor preferred over the staged credential inside the job.
   */
  async sbatch(scriptPath: string | null, args: string[] = [], stdin?: string): Promise<SubmitResult | SubmitFailure> {
    const scrub = secretEnvNames({ ...process.env, ...this.o.env })
    this.calls.sbatch = (this.calls.sbatch ?? 0) + 1
    const argv = [this.bin('sbatch'), '--parsable', ...args, ...(scriptPath ? [scriptPath] : [])]
    const r = await this.transport.run(scrub.length ? ['env', ...scrub.flatMap((n) => ['-u', n]), ...argv] : argv, {
      ...(this.o.env && Object.keys(this.o.env).length ? { env: this.o.env } : {}),
      ...(stdin !== undefined ? { stdin } : {}),
      timeoutMs: this.o.timeoutMs ?? 60_000,
    })
    if (r.code === 0) {
      const p = parseSbatchParsable(r.stdout)
      if (p) return { ok: true, ...p, stderr: r.stderr }
      return {
        ok: false,
        code: r.code,
        stdout: r.stdout,
        stderr: `sbatch printed no job id: ${r.stdout.trim()} ${r.stderr.trim()}`,
      }
    }
    return { ok: false, code: r.code, stdout: r.stdout, stderr: r.stderr }
  }

  private resolvedMode: 'json' | 'format' | null = null

  /** the squeue mode in use (auto resolves once, from `squeue --version`) */
  async squeueMode(): Promise<'json' | 'format'> {
    if (this.resolvedMode) return this.resolvedMode
    // default json (the historical behaviour callers were written against); the slurm strategy
    // passes the site's `slurm.squeue` (default auto)
    const want = this.o.squeueMode ?? 'json'
    if (want !== 'auto') return (this.resolvedMode = want)
    const r = await this.transport.run([this.bin('squeue'), '--version'], {
      ...(this.o.env ? { env: this.o.env } : {}),
      timeoutMs: this.o.timeoutMs ?? 60_000,
    })
    this.calls['squeue --version'] = (this.calls['squeue --version'] ?? 0) + 1
    const m = /(\d+)\.(\d+)/.exec(r.stdout)
    const v = m ? Number(m[1]) * 100 + Number(m[2]) : 0
    return (this.resolvedMode = v >= 2302 ? 'json' : 'format')
  }

  /**
   * ONE squeue call for all the jobs of a run (by their job names). With `--json` the filters
   * are applied again here (Slurm 22.05 ignores them with --json and returns all jobs).
   */
  async squeue(filter: { names?: string[]; jobIds?: string[] } = {}): Promise<SlurmJobRecord[]> {
    const mode = await this.squeueMode()
    const nameArg = filter.names?.length ? [`--name=${filter.names.join(',')}`] : []
    let records: SlurmJobRecord[]
    if (mode === 'json') {
      const r = await this.run('squeue', ['--json', ...nameArg])
      if (r.code !== 0) throw new SlurmCommandError('squeue --json', r)
      records = parseSqueueJson(r.stdout).records
    } else {
      const r = await this.run('squeue', ['-h', '-t', 'all', ...nameArg, '-O', SQUEUE_FIELDS])
      if (r.code !== 0) throw new SlurmCommandError('squeue -O', r)
      records = parseSqueueFormat(r.stdout)
    }
    const names = filter.names?.length ? new Set(filter.names) : null
    const ids = filter.jobIds?.length ? new Set(filter.jobIds) : null
    return records.filter(
      (rec) =>
        (!names || (rec.name !== null && names.has(rec.name))) &&
        (!ids || ids.has(rec.jobId) || (rec.arrayJobId !== null && ids.has(rec.arrayJobId))),
    )
  }

  /**
   * Jobs that left squeue: `sacct` (accounting storage) or `sacct -c` (the jobcomp file, when the
   * cluster has no accounting). Returns [] when neither is available.
   */
  async sacct(jobIds: string[]): Promise<SlurmJobRecord[]> {
    if (jobIds.length === 0) return []
    const fields = ['-o', SACCT_FIELDS.join(',')]
    if (this.accounting !== 'none') {
      const r = await this.run('sacct', ['-X', '-n', '--parsable2', '-a', '-j', jobIds.join(','), ...fields])
      if (r.code === 0) {
        this.accounting = 'dbd'
        return parseSacct(r.stdout)
      }
      if (/accounting storage is disabled/i.test(r.stderr)) this.accounting = 'none'
      else throw new SlurmCommandError('sacct', r)
    }
    if (!this.jobcompAvailable) return []
    const r = await this.run('sacct', ['-c', '-n', '--parsable2', '-j', jobIds.join(','), ...fields])
    if (r.code !== 0) {
      if (/jobcomp|not configured|No such file/i.test(r.stderr)) this.jobcompAvailable = false
      return []
    }
    return parseSacct(r.stdout)
  }

  /** `scontrol show job -o ID` for each id; ids Slurm does not know are simply absent */
  async scontrolJobs(jobIds: string[]): Promise<SlurmJobRecord[]> {
    const out: SlurmJobRecord[] = []
    for (const id of jobIds) {
      const r = await this.run('scontrol', ['show', 'job', '-o', id])
      if (r.code === 0) out.push(...parseScontrolJobs(r.stdout))
      else if (!/Invalid job id/i.test(r.stderr)) throw new SlurmCommandError('scontrol show job', r)
    }
    return out
  }

  /** scancel ids (array ids cancel every element); unknown / finished ids are not an error */
  async scancel(jobIds: string[], signal?: string): Promise<CommandResult> {
    if (jobIds.length === 0) return { code: 0, stdout: '', stderr: '' }
    const r = await this.run('scancel', [...(signal ? [`--signal=${signal}`] : []), ...jobIds])
    if (r.code !== 0 && !/Invalid job id|already completing or completed|Job\/step already/i.test(r.stderr)) {
      throw new SlurmCommandError('scancel', r)
    }
    return r
  }

  /** one `sinfo` call describing every (node, partition) pair */
  async sinfo(): Promise<string> {
    const r = await this.run('sinfo', ['-h', '-N', '-o', SINFO_FORMAT])
    if (r.code !== 0) throw new SlurmCommandError('sinfo', r)
    return r.stdout
  }
}

/** node|partition(*=default)|avail|timelimit|cpus|memory MB|gres|features|state|tmp disk MB */
export const SINFO_FORMAT = '%N|%P|%a|%l|%c|%m|%G|%f|%T|%d'

/** Names of variables that hold secrets themselves (not paths to them): never exported to a job. */
export function secretEnvNames(env: Record<string, string | undefined>): string[] {
  return Object.keys(env)
    .filter((k) => env[k] !== undefined)
    .filter((k) => /^(BEARER_TOKEN|CONTROLROOM_TOKEN)$|(_TOKEN|_SECRET|_PASSWORD|_PASSWD|_API_KEY)$/.test(k))
    .filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .sort()
}
