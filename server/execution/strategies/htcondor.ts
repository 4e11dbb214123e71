/**
 * Strategy `htcondor`: every task is an HTCondor job; the tasks handed over together for one pool
 * become ONE cluster (`queue N`, ProcId i runs task i). Submit descriptions are generated from the
 * pool (request_cpus, request_memory in MiB, request_gpus, request_disk in KiB) and its site config
 * (+JobFlavour, requirements, accounting_group, extra commands; walltime: see htcondor/site.ts),
 * and are visible before dispatch (render) and per job (the .sub next to the job script).
 *
 * - Worker environment (execution.environment): shared-fs, packed-pixi or conda-pack; archives go
 *   in `transfer_input_files` and the job script unpacks and activates them (environments/).
 * - Credentials (execution.credentials): checked at dispatch (warn or refuse), staged 0600 in the
 *   run directory, the proxy given as `x509userproxy`, the token transferred with
 *   `BEARER_TOKEN_FILE` pointing at the job's copy (credentials/).
 * - Status: the job event log, one condor_q for the run, condor_history for jobs that left the
 *   queue; held jobs show their hold reason (see htcondor/status.ts for the mapping).
 * - Cancel: condor_rm. Restart: jobs are re-adopted by ClusterId.ProcId, never resubmitted.
 * - The run directory must be visible to the execute nodes (the task runtime writes its logs and
 *   result there), as for Slurm's shared-fs: outputs are not transferred back.
 *
 * HTCondor is not packaged for this machine: this driver is tested against a format-faithful
 * simulator of the command line tools (htcondor/__fixtures__/fake-condor), see *.format.test.ts.
 */
import path from 'node:path'
import {
  redactSecrets,
  jobCredentialSetup,
  checkCredentials,
  estimateRunSeconds,
  credentialPolicyOf,
  type JobCredentialSetup,
} from '../../credentials/index.ts'
import type { SiteConfig } from '../../site/schema.ts'
import type { ExecutionPlan, PlanPool } from '../../workflow/types.ts'
import { preflightEnvironment, renderEnvironmentSetup, type EnvironmentSetup } from '../environments/index.ts'
import { runtimeArgv } from '../paths.ts'
import type { CommandTransport } from '../transport/types.ts'
import type {
  JobRef,
  JobStatus,
  MappedJobState,
  PoolProblem,
  RenderedSubmission,
  Strategy,
  StrategyContext,
  StrategyRunContext,
  StrategySession,
  SubmitResult,
  TaskLaunch,
} from '../types.ts'
import {
  asPoolProblem,
  BatchStrategyBase,
  type BatchStrategyOptions,
  byPool,
  type ExternalJobState,
  pollIntervals,
  previewStagedCredentials,
  problemLine,
  RunCredentials,
  siteConfigInvalid,
  submitThrew,
  unknownPoolProblem,
} from './batch/strategy.ts'
import { HTCondorClient } from './htcondor/client.ts'
import { HTCondorJobs, type CondorJobRef, type CondorJobStatus, type CondorSubmitRequest } from './htcondor/jobs.ts'
import { preflightSlots, slotCapacities, SLOT_ATTRIBUTES } from './htcondor/preflight.ts'
import { resolveHTCondorSite, type HTCondorSite } from './htcondor/site.ts'
import { mapExternalState, signalName } from './htcondor/status.ts'
import { poolCommands } from './htcondor/submit.ts'

export interface HTCondorStrategyOptions extends BatchStrategyOptions {
  /** a job unknown everywhere this long after submission is lost (default 60 s) */
  lostGraceMs?: number
}

export { credentialPolicyOf }

export class HTCondorStrategy extends BatchStrategyBase<HTCondorStrategyOptions> implements Strategy {
  readonly name = 'htcondor'
  readonly workerModel = 'job' as const
  readonly workerKind = 'htcondor' as const
  readonly supportsArrays = true
  protected readonly siteSection = 'htcondor' as const

  constructor(opts: HTCondorStrategyOptions = {}) {
    super(opts)
  }

  condor(site: SiteConfig): HTCondorSite {
    return resolveHTCondorSite(site.htcondor)
  }

  /** how archives and credentials reach the job */
  delivery(condor: HTCondorSite): 'transfer' | 'shared-path' {
    return condor.shouldTransferFiles === 'NO' ? 'shared-path' : 'transfer'
  }

  environmentSetup(plan: ExecutionPlan, condor: HTCondorSite): EnvironmentSetup {
    return renderEnvironmentSetup(plan.environment, { delivery: this.delivery(condor), baseDir: this.opts.baseDir })
  }

  async preflight(plan: ExecutionPlan, ctx?: StrategyContext): Promise<PoolProblem[]> {
    let site: SiteConfig
    let condor: HTCondorSite
    try {
      site = this.site(ctx)
      condor = this.condor(site)
    } catch (e) {
      return siteConfigInvalid(e)
    }
    const problems: PoolProblem[] = []
    for (const pool of plan.pools.filter((p) => p.stages.length > 0))
      problems.push(...poolCommands(pool, condor).problems)
    for (const p of await preflightEnvironment(plan.environment, {
      delivery: this.delivery(condor),
      baseDir: this.opts.baseDir,
    })) {
      problems.push(asPoolProblem(p, null))
    }
    const creds = await checkCredentials(plan, estimateRunSeconds(plan), {
      mode: credentialPolicyOf(plan, this.opts.credentialPolicy),
      env: this.opts.credentialEnv,
    })
    for (const p of creds.problems) problems.push(asPoolProblem(p, null))
    const transport = this.transport(site)
    const client = new HTCondorClient(transport, condor, { timeoutMs: 30_000 })
    const r = await client.version()
    if (r.code !== 0) {
      problems.push({
        code: r.code === 127 ? 'htcondor-not-installed' : 'htcondor-unreachable',
        severity: 'error',
        pool: null,
        message:
          r.code === 127
            ? `HTCondor's tools (condor_version, condor_submit) are not installed on ${transport.description}`
            : `condor_version failed on ${transport.description}: ${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? `exit ${r.code}`}`,
        hint: 'run the dashboard where HTCondor is installed, or set site ssh: to a submit host and htcondor.binDir / htcondor.env (CONDOR_CONFIG)',
      })
      return problems
    }
    if (condor.preflight) {
      try {
        const slots = slotCapacities(await client.status(SLOT_ATTRIBUTES))
        problems.push(
          ...preflightSlots(
            plan.pools.filter((p) => p.stages.length > 0),
            slots,
          ),
        )
      } catch (e) {
        problems.push({
          code: 'htcondor-status-unavailable',
          severity: 'warning',
          pool: null,
          message: `cannot check the pools against the HTCondor slots: ${(e as Error).message}`,
          hint: 'site htcondor.preflight: false turns this check off (e.g. for flocking pools)',
        })
      }
    }
    return problems
  }

  /** the submit request of a group of launches of one pool */
  request(
    pool: PlanPool,
    plan: ExecutionPlan,
    launches: TaskLaunch[],
    site: SiteConfig,
    condor: HTCondorSite,
    runId: string,
    runDir: string,
    creds: JobCredentialSetup,
  ): CondorSubmitRequest {
    const envSetup = this.environmentSetup(plan, condor)
    const delivery = this.delivery(condor)
    const stages = [...new Set(launches.map((l) => l.stageId))]
    return {
      pool,
      name: `${stages.join('+')}-a${launches[0]?.attempt ?? 0}`,
      tasks: launches.map((l) => ({ taskId: l.taskId, argv: this.taskArgv(l.argv, site), env: l.env })),
      env: {
        ...site.environment.env,
        CONTROLROOM_RUN_ID: runId,
        CONTROLROOM_RUN_DIR: runDir,
        ...(delivery === 'shared-path' ? creds.env : {}),
      },
      setup: [...site.environment.setup, ...envSetup.lines],
      credentialLines: [
        ...creds.lines,
        // tokens managed by the schedd's credmon (use_oauth_services): $_CONDOR_CREDS/<service>.use
        ...(condor.oauthServices.length
          ? [
              `if [ -z "\${BEARER_TOKEN_FILE:-}" ] && [ -n "\${_CONDOR_CREDS:-}" ] && [ -f "$_CONDOR_CREDS/${condor.oauthServices[0]!.replace(/\*/g, '')}.use" ]; then export BEARER_TOKEN_FILE="$_CONDOR_CREDS/${condor.oauthServices[0]!.replace(/\*/g, '')}.use"; fi`,
            ]
          : []),
      ],
      transferInputFiles: [...envSetup.transferInputFiles, ...creds.transferInputFiles],
      x509userproxy: creds.x509userproxy,
      submitEnvironment: delivery === 'transfer' ? creds.env : {},
      attributes: { ControlRoomStage: stages.join(',') },
      header: [
        `pool ${pool.name}: ${pool.workers} concurrent job(s) at most; stage ${stages.join(', ')}; attempt ${[...new Set(launches.map((l) => l.attempt))].join(',')}`,
        envSetup.summary,
      ],
    }
  }

  async render(
    pool: PlanPool,
    plan: ExecutionPlan,
    ctx?: StrategyContext & { launch?: TaskLaunch[] },
  ): Promise<RenderedSubmission> {
    const site = this.site(ctx)
    const condor = this.condor(site)
    const runId = ctx?.launch?.[0]?.runId ?? (ctx?.runDir ? path.basename(ctx.runDir) : 'RUN')
    const runDir =
      ctx?.runDir ??
      (ctx?.launch?.[0] ? path.dirname(path.dirname(ctx.launch[0].taskDir)) : path.join(site.paths.runs, runId))
    let launches = ctx?.launch
    if (!launches?.length) {
      const stage = plan.stages.find((s) => s.pool === pool.name)
      const taskId = stage ? stage.id : `${pool.name}-task`
      const taskDir = path.join(runDir, 'tasks', taskId)
      launches = [
        {
          runId,
          taskId,
          attempt: 0,
          stageId: stage?.id ?? taskId,
          pool: pool.name,
          taskDir,
          specPath: path.join(taskDir, 'spec.json'),
          argv: runtimeArgv(path.join(taskDir, 'spec.json')),
          env: {},
          timeoutSeconds: stage?.timeoutSeconds ?? null,
        },
      ]
    }
    // the preview shows where credentials will be staged (nothing is read or copied here)
    const creds = jobCredentialSetup(previewStagedCredentials(plan, runDir), this.delivery(condor))
    const jobs = new HTCondorJobs({ transport: this.transport(site), site: condor, runId, runDir })
    const r = jobs.render(this.request(pool, plan, launches, site, condor, runId, runDir, creds))
    const env = this.environmentSetup(plan, condor)
    const text = `${r.submit}\n# ---- job script ${r.scriptPath} ----\n${r.script}`
    return {
      kind: 'condor-submit',
      text,
      problems: [...r.problems, ...env.problems.map((p) => asPoolProblem(p, null))],
    }
  }

  mapState(external: ExternalJobState): MappedJobState {
    let policy: HTCondorSite['holds'] = 'fail'
    try {
      policy = this.condor(this.site()).holds
    } catch {
      // no site file: the default policy
    }
    return mapExternalState(external, policy)
  }

  async open(ctx: StrategyRunContext): Promise<StrategySession> {
    const site = this.site(ctx)
    return new HTCondorSession(this, ctx, site, this.condor(site), this.transport(site, ctx.runAs))
  }
}

class HTCondorSession implements StrategySession {
  readonly jobs: HTCondorJobs
  private readonly refs = new Map<string, JobRef>()
  private readonly credentials: RunCredentials

  constructor(
    private readonly strategy: HTCondorStrategy,
    private readonly ctx: StrategyRunContext,
    private readonly site: SiteConfig,
    private readonly condor: HTCondorSite,
    readonly transport: CommandTransport,
  ) {
    const o = strategy.opts
    this.credentials = new RunCredentials(ctx, transport, {
      delivery: strategy.delivery(condor),
      credentialPolicy: o.credentialPolicy,
      credentialEnv: o.credentialEnv,
      logWarnings: true,
    })
    this.jobs = new HTCondorJobs({
      transport,
      site: condor,
      runId: ctx.runId,
      runDir: ctx.runDir,
      ...pollIntervals(o),
      ...(o.lostGraceMs !== undefined ? { lostGraceMs: o.lostGraceMs } : {}),
      log: (level, message) => ctx.log(level, redactSecrets(message)),
    })
  }

  private toStatus(s: CondorJobStatus): JobStatus | null {
    const ref = this.refs.get(s.ref.jobId)
    if (!ref) return null
    if (s.host && ref.host !== s.host) ref.host = s.host
    return {
      ref,
      worker: s.worker,
      task: s.task,
      final: s.final,
      reason: s.reason,
      hopeless: s.hopeless,
      raw: s.raw,
      exitCode: s.exitCode,
      signal: s.signal !== null ? signalName(s.signal) : null,
      host: s.host,
      startedAt: s.startedAt ? s.startedAt.toISOString() : null,
      endedAt: s.endedAt ? s.endedAt.toISOString() : null,
    }
  }

  private condorRef(ref: JobRef): CondorJobRef {
    const [c, p] = ref.jobId.split('.')
    return {
      taskId: ref.taskId,
      pool: ref.pool,
      clusterId: Number(c),
      procId: Number(p ?? ref.arrayIndex ?? 0),
      jobId: ref.jobId,
      submittedAt: typeof ref.data?.submittedAt === 'number' ? ref.data.submittedAt : 0,
    }
  }

  async submit(group: TaskLaunch[]): Promise<SubmitResult[]> {
    if (!group.length) return []
    const { creds, blocked } = await this.credentials.prepare()
    const results = new Map<string, SubmitResult>()
    for (const [poolName, launches] of byPool(group)) {
      const pool = this.ctx.plan.pools.find((p) => p.name === poolName)
      const refuse = (problem: PoolProblem, retryable = false) => {
        for (const l of launches)
          results.set(l.taskId, {
            ok: false,
            taskId: l.taskId,
            problem: { ...problem, pool: problem.pool ?? poolName },
            ...(retryable ? { retryable } : {}),
          })
      }
      if (!pool) {
        refuse(unknownPoolProblem(poolName))
        continue
      }
      if (blocked) {
        refuse(blocked)
        continue
      }
      const req = this.strategy.request(
        pool,
        this.ctx.plan,
        launches,
        this.site,
        this.condor,
        this.ctx.runId,
        this.ctx.runDir,
        creds,
      )
      let out
      try {
        out = await this.jobs.submit(req)
      } catch (e) {
        out = submitThrew('htcondor-submit-failed', poolName, e)
      }
      if (!out.ok) {
        this.ctx.log('error', redactSecrets(problemLine(out.problem)))
        const { retryable, ...problem } = out.problem
        refuse(problem, retryable)
        continue
      }
      out.refs.forEach((cref, i) => {
        const l = launches[i]!
        const ref: JobRef = {
          taskId: l.taskId,
          attempt: l.attempt,
          pool: poolName,
          jobId: cref.jobId,
          arrayIndex: cref.procId,
          workerId: `htcondor-${cref.jobId}`,
          host: null,
          pid: null,
          data: {
            clusterId: cref.clusterId,
            procId: cref.procId,
            submitPath: out.submitPath,
            scriptPath: out.scriptPath,
            log: this.jobs.logFile,
            submittedAt: cref.submittedAt ?? Date.now(),
          },
        }
        this.refs.set(cref.jobId, ref)
        results.set(l.taskId, { ok: true, ref })
      })
    }
    return group.map((l) => results.get(l.taskId)!)
  }

  private adopt(jobs: JobRef[]): CondorJobRef[] {
    const crefs = jobs.map((r) => this.condorRef(r))
    for (const r of jobs) if (!this.refs.has(r.jobId)) this.refs.set(r.jobId, r)
    this.jobs.attach(crefs.filter((c) => !this.jobs.isTracked(c.jobId)))
    return crefs
  }

  async poll(jobs: JobRef[]): Promise<JobStatus[]> {
    const crefs = this.adopt(jobs)
    const out: JobStatus[] = []
    for (const s of await this.jobs.poll(crefs)) {
      const st = this.toStatus(s)
      if (st) out.push(st)
    }
    return out
  }

  async cancel(jobs: JobRef[]): Promise<void> {
    await this.jobs.cancel(jobs.map((j) => j.jobId))
  }

  async reattach(jobs: JobRef[]): Promise<JobStatus[]> {
    return this.poll(jobs)
  }

  pollIntervalMs(): number {
    return this.jobs.currentInterval
  }

  async close(opts?: { detach?: boolean }): Promise<void> {
    await this.jobs.close()
    await this.credentials.remove(opts)
  }
}

export const htcondorStrategy = new HTCondorStrategy()

export function createHTCondorStrategy(opts: HTCondorStrategyOptions = {}): HTCondorStrategy {
  return new HTCondorStrategy(opts)
}
