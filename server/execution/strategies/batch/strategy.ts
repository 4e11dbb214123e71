/**
 * What the Slurm and HTCondor strategies share around their batch systems: options, the site and
 * transport they use, the task command on a node, problems as the engine reads them, and the run's
 * credentials (staged once per run, removed when it ends).
 */
import type { ProblemCode } from '../../../workflow/problem-codes.ts'
import path from 'node:path'
import {
  credentialPolicyOf,
  estimateRunSeconds,
  jobCredentialSetup,
  prepareRunCredentials,
  redactSecrets,
  STAGED_ENV,
  STAGED_NAMES,
  type CredentialPolicyMode,
  type JobCredentialSetup,
  type StagedCredential,
} from '../../../credentials/index.ts'
import { removeStagedCredentials } from '../../../credentials/stage.ts'
import { loadSiteConfig } from '../../../site/load.ts'
import type { SiteConfig } from '../../../site/schema.ts'
import type { ExecutionPlan } from '../../../workflow/types.ts'
import { createTransport } from '../../transport/index.ts'
import type { CommandTransport } from '../../transport/types.ts'
import type { PoolProblem, RunAs, Strategy, StrategyContext, StrategyRunContext, TaskLaunch } from '../../types.ts'

/** what the batch system says of a job, as the contract's mapState takes it */
export type ExternalJobState = Parameters<Strategy['mapState']>[0]

export interface BatchStrategyOptions {
  /** the site config; default: StrategyContext.site when it is one, else loadSiteConfig() */
  site?: SiteConfig
  /** the command transport; default: createTransport(site) (ssh when the site names a login host) */
  transport?: CommandTransport
  /** override the poll intervals (tests) */
  pollIntervalMs?: number
  maxPollIntervalMs?: number
  /** credential policy; default plan.config.credential_policy, $CONTROLROOM_CREDENTIAL_POLICY, else refuse */
  credentialPolicy?: CredentialPolicyMode
  /** environment credentials are discovered in (default process.env; tests) */
  credentialEnv?: Record<string, string | undefined>
  /** directory relative archive paths are resolved against (default process.cwd()) */
  baseDir?: string
}

/** the site, transport and task command of a batch strategy */
export abstract class BatchStrategyBase<O extends BatchStrategyOptions> {
  private loaded: SiteConfig | null = null
  /** the site section this strategy needs (a context's site without it is not a site config) */
  protected abstract readonly siteSection: 'slurm' | 'htcondor'

  constructor(readonly opts: O) {}

  site(ctx?: StrategyContext): SiteConfig {
    if (this.opts.site) return this.opts.site
    const s = ctx?.site
    if (s && typeof s === 'object' && 'paths' in s && 'environment' in s && this.siteSection in s)
      return s as SiteConfig
    return (this.loaded ??= loadSiteConfig())
  }

  /** with runAs (users mode) the commands run as that OS user, whatever transport was injected */
  transport(site: SiteConfig, runAs?: RunAs | null): CommandTransport {
    return runAs ? createTransport(site, runAs) : (this.opts.transport ?? createTransport(site))
  }

  /** the argv a node runs for a launch: site.taskCommand replaces the runtime prefix when set */
  taskArgv(argv: string[], site: SiteConfig): string[] {
    if (!site.taskCommand) return argv
    const i = argv.indexOf('--spec')
    return i >= 0 ? [...site.taskCommand, ...argv.slice(i)] : argv
  }
}

/** a problem of the environment, credentials or site as the engine reads it (pool: the whole plan unless given) */
export function asPoolProblem(
  p: {
    code: ProblemCode
    severity: 'error' | 'warning'
    message: string
    hint?: string | undefined
    pool?: string | null
  },
  pool: string | null = p.pool ?? null,
): PoolProblem {
  return { code: p.code, severity: p.severity, pool, message: p.message, ...(p.hint ? { hint: p.hint } : {}) }
}

/** where the credentials of a run will be staged (the preview: nothing is read or copied) */
export function previewStagedCredentials(plan: Pick<ExecutionPlan, 'credentials'>, runDir: string): StagedCredential[] {
  const seen = new Set<string>()
  const out: StagedCredential[] = []
  for (const c of plan.credentials ?? []) {
    if (seen.has(c.kind)) continue
    seen.add(c.kind)
    out.push({
      kind: c.kind,
      path: path.posix.join(runDir, 'credentials', STAGED_NAMES[c.kind]),
      fileName: STAGED_NAMES[c.kind],
      envVar: STAGED_ENV[c.kind],
      status: null as never,
    })
  }
  return out
}

/** the site file could not be read: the one preflight problem then */
export function siteConfigInvalid(e: unknown): PoolProblem[] {
  return [{ code: 'site-config-invalid', severity: 'error', pool: null, message: (e as Error).message }]
}

/** a submit command that threw (not one the batch system refused): retryable, with its message */
export function submitThrew(code: ProblemCode, pool: string, e: unknown) {
  return {
    ok: false as const,
    problem: { code, severity: 'error' as const, pool, message: (e as Error).message, retryable: true },
  }
}

/** a problem as one log line: the message, then its hint in parentheses */
export function problemLine(p: { message: string; hint?: string | undefined }): string {
  return `${p.message}${p.hint ? ` (${p.hint})` : ''}`
}

/** the poll interval overrides of the options, for the jobs tracker (absent when not set) */
export function pollIntervals(o: BatchStrategyOptions): { pollIntervalMs?: number; maxPollIntervalMs?: number } {
  return {
    ...(o.pollIntervalMs ? { pollIntervalMs: o.pollIntervalMs } : {}),
    ...(o.maxPollIntervalMs ? { maxPollIntervalMs: o.maxPollIntervalMs } : {}),
  }
}

/** launches by pool, in the order they came */
export function byPool(group: TaskLaunch[]): Map<string, TaskLaunch[]> {
  const m = new Map<string, TaskLaunch[]>()
  for (const l of group) m.set(l.pool, [...(m.get(l.pool) ?? []), l])
  return m
}

export function unknownPoolProblem(pool: string): PoolProblem {
  return { code: 'unknown-pool', severity: 'error', pool, message: `pool ${pool} is not in the plan` }
}

/**
 * A run's credentials on the batch side: staged once (`<run>/credentials/`, 0600) on first use,
 * removed when the run ends. The policy was applied by the engine's preflight; an error here means
 * a credential became unusable since (refuse mode): the jobs are not submitted (`blocked`).
 */
export class RunCredentials {
  private prepared: Promise<{ creds: JobCredentialSetup; blocked: PoolProblem | null }> | null = null

  constructor(
    private readonly ctx: StrategyRunContext,
    private readonly transport: CommandTransport,
    private readonly o: {
      delivery: 'shared-path' | 'transfer'
      credentialPolicy?: CredentialPolicyMode | undefined
      credentialEnv?: Record<string, string | undefined> | undefined
      /** log warnings too (not only the error that blocks) */
      logWarnings: boolean
    },
  ) {}

  prepare(): Promise<{ creds: JobCredentialSetup; blocked: PoolProblem | null }> {
    return (this.prepared ??= (async () => {
      if (!this.ctx.plan.credentials?.length) return { creds: jobCredentialSetup([], this.o.delivery), blocked: null }
      const p = await prepareRunCredentials(this.ctx.plan, this.ctx.runDir, estimateRunSeconds(this.ctx.plan), {
        mode: credentialPolicyOf(this.ctx.plan, this.o.credentialPolicy),
        transport: this.transport,
        env: this.o.credentialEnv,
      })
      for (const pr of p.check.problems)
        if (pr.severity === 'error' || this.o.logWarnings)
          this.ctx.log(
            pr.severity === 'error' ? 'error' : 'warn',
            redactSecrets(`${pr.message}${pr.hint ? ` (${pr.hint})` : ''}`),
          )
      const err = p.check.problems.find((x) => x.severity === 'error')
      return { creds: jobCredentialSetup(p.staged, this.o.delivery), blocked: err ? asPoolProblem(err, null) : null }
    })().catch((e: Error) => ({
      creds: jobCredentialSetup([], this.o.delivery),
      blocked: {
        code: 'credential-stage-failed',
        severity: 'error' as const,
        pool: null,
        message: redactSecrets(`could not stage the credentials: ${e.message}`),
      },
    })))
  }

  /** the run is over (not a server leaving its jobs to be adopted): staged proxies and tokens go */
  async remove(opts?: { detach?: boolean }): Promise<void> {
    if (opts?.detach || !this.prepared) return
    await removeStagedCredentials(this.ctx.runDir, { transport: this.transport }).catch((e: Error) =>
      this.ctx.log('warn', redactSecrets(`could not remove the staged credentials: ${e.message}`)),
    )
  }
}
