/**
 * The HTCondor command line tools, run through a CommandTransport (this host, or a login node
 * through ssh): condor_submit -terse, condor_q -json, condor_history -json, condor_rm, and
 * incremental reads of the job event log. argv lists only, never shell strings.
 */
import type { CommandResult, CommandTransport } from '../../transport/types.ts'
import { parseClassAdJson, parseRm, parseTerse, type ClassAd, type RmResult, type TerseRange } from './parse.ts'
import type { HTCondorSite } from './site.ts'
import { STATUS_ATTRIBUTES } from './status.ts'

export class CondorCommandError extends Error {
  constructor(
    message: string,
    readonly result: CommandResult,
  ) {
    super(message)
    this.name = 'CondorCommandError'
  }
}

export interface HTCondorClientOptions {
  timeoutMs?: number
}

export class HTCondorClient {
  constructor(
    readonly transport: CommandTransport,
    readonly site: HTCondorSite,
    private readonly opts: HTCondorClientOptions = {},
  ) {}

  bin(name: string): string {
    return this.site.binDir ? `${this.site.binDir.replace(/\/+$/, '')}/${name}` : name
  }

  /** -name / -pool selecting the schedd (every tool takes them) */
  private target(): string[] {
    return [
      ...(this.site.schedd ? ['-name', this.site.schedd] : []),
      ...(this.site.pool ? ['-pool', this.site.pool] : []),
    ]
  }

  run(argv: string[], cwd?: string, timeoutMs?: number): Promise<CommandResult> {
    return this.transport.run(argv, {
      env: this.site.env,
      timeoutMs: timeoutMs ?? this.opts.timeoutMs ?? 120_000,
      ...(cwd ? { cwd } : {}),
    })
  }

  /** `condor_version` (preflight: is HTCondor installed where the commands run?) */
  async version(): Promise<CommandResult> {
    return this.run([this.bin('condor_version')], undefined, 30_000)
  }

  /** `condor_status -json` (slots, for the capacity preflight); -pool selects the collector */
  async status(attributes: string[]): Promise<ClassAd[]> {
    const r = await this.run(
      [
        this.bin('condor_status'),
        ...(this.site.pool ? ['-pool', this.site.pool] : []),
        '-json',
        '-attributes',
        attributes.join(','),
      ],
      undefined,
      60_000,
    )
    if (r.code !== 0)
      throw new CondorCommandError(
        `condor_status failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`,
        r,
      )
    return parseClassAdJson(r.stdout)
  }

  /** `condor_submit -terse <file>`; the raw result on failure, the ranges on success */
  async submit(
    submitFile: string,
    cwd: string,
  ): Promise<{ ok: true; ranges: TerseRange[]; result: CommandResult } | { ok: false; result: CommandResult }> {
    const r = await this.run([this.bin('condor_submit'), '-terse', ...this.target(), submitFile], cwd)
    if (r.code !== 0) return { ok: false, result: r }
    const ranges = parseTerse(r.stdout)
    if (!ranges.length)
      return {
        ok: false,
        result: {
          ...r,
          code: r.code || 1,
          stderr: `${r.stderr}\nERROR: condor_submit printed no job id range (expected "<cluster>.<proc> - <cluster>.<proc>")`,
        },
      }
    return { ok: true, ranges, result: r }
  }

  /** `ClusterId == 7 || (ClusterId >= 10 && ClusterId <= 14)`: runs of clusters as ranges, so a big run stays one short constraint */
  constraint(clusters: number[]): string {
    const u = [...new Set(clusters)].sort((a, b) => a - b)
    const parts: string[] = []
    for (let i = 0; i < u.length; ) {
      let j = i
      while (j + 1 < u.length && u[j + 1] === u[j]! + 1) j++
      if (j - i >= 2) parts.push(`(ClusterId >= ${u[i]} && ClusterId <= ${u[j]})`)
      else for (let k = i; k <= j; k++) parts.push(`ClusterId == ${u[k]}`)
      i = j + 1
    }
    return parts.join(' || ')
  }

  /** `condor_q -json` for the given clusters (one call for a whole run) */
  async q(clusters: number[]): Promise<ClassAd[]> {
    if (!clusters.length) return []
    const r = await this.run([
      this.bin('condor_q'),
      ...this.target(),
      '-json',
      '-attributes',
      STATUS_ATTRIBUTES.join(','),
      '-constraint',
      this.constraint(clusters),
    ])
    if (r.code !== 0)
      throw new CondorCommandError(
        `condor_q failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`,
        r,
      )
    return parseClassAdJson(r.stdout)
  }

  /** `condor_history -json` for jobs that left the queue; `-limit` stops the backward scan early */
  async history(clusters: number[], limit: number): Promise<ClassAd[]> {
    if (!clusters.length) return []
    const r = await this.run([
      this.bin('condor_history'),
      ...this.target(),
      '-json',
      '-attributes',
      STATUS_ATTRIBUTES.join(','),
      '-limit',
      String(Math.max(1, limit)),
      '-constraint',
      this.constraint(clusters),
    ])
    if (r.code !== 0)
      throw new CondorCommandError(
        `condor_history failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`,
        r,
      )
    return parseClassAdJson(r.stdout)
  }

  /** `condor_rm <cluster.proc>...`; ids HTCondor does not know are reported, not thrown */
  async rm(jobIds: string[]): Promise<RmResult & { result: CommandResult | null }> {
    if (!jobIds.length) return { removed: [], notFound: [], result: null }
    const r = await this.run([this.bin('condor_rm'), ...this.target(), ...jobIds])
    const parsed = parseRm(r.stdout, r.stderr)
    if (
      r.code !== 0 &&
      parsed.removed.length === 0 &&
      parsed.notFound.length === 0 &&
      !/not found|Couldn't find/i.test(r.stdout + r.stderr)
    ) {
      throw new CondorCommandError(`condor_rm failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`, r)
    }
    return { ...parsed, result: r }
  }

  /** the bytes of `file` from byte `offset` on; null when the file does not exist (yet) */
  async readFrom(file: string, offset: number): Promise<string | null> {
    const r = await this.transport.run(
      ['sh', '-c', '[ -e "$1" ] || exit 3; tail -c +"$2" -- "$1"', 'sh', file, String(offset + 1)],
      { timeoutMs: 60_000 },
    )
    if (r.code === 3) return null
    if (r.code !== 0) throw new CondorCommandError(`could not read ${file}: ${r.stderr.trim()}`, r)
    return r.stdout
  }
}
