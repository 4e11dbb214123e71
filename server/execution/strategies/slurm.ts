/**
 * Strategy `slurm`: every task is a Slurm job (a stage's partitions handed over together become
 * ONE job array), created with `sbatch` from a generated, previewable job script; the pool's
 * resources become --cpus-per-task / --mem / --gres=gpu:N / --tmp and its site config partition,
 * account, qos, constraint, time limit and extra directives (see slurm/script.ts).
 *
 * - Dependencies are held by our engine (a task is only submitted once its needs succeeded): the
 *   failure policy, retries and behaviour stay identical across strategies; see slurm/script.ts.
 * - pool.workers bounds concurrent jobs per pool: the backend asks for at most that many; an
 *   array is also throttled with `%workers`.
 * - Status: one `squeue --json` per poll for all jobs of the run, backing off while nothing
 *   changes; sacct / jobcomp / scontrol for jobs that left squeue; unknown everywhere -> lost.
 * - Impossible requests are refused in preflight (sinfo) or at submission with Slurm's message,
 *   and jobs that pend for a reason waiting cannot fix are cancelled and failed with it.
 * - Commands run on this host or on a login node through ssh (site `ssh`), see ../transport.
 * - Worker environment (execution.environment): shared-fs (site/workflow setup lines), or a
 *   packed-pixi / conda-pack archive read from its shared path, unpacked into the job's scratch
 *   directory and activated (../environments, delivery `shared-path`); a missing archive is a
 *   preflight error with its path.
 * - Credentials (execution.credentials): checked by the engine's preflight (warn / refuse), staged
 *   once per run into `<run>/credentials/` (0600, directory 0700) and exported to the job as
 *   X509_USER_PROXY / BEARER_TOKEN_FILE (absolute paths on the shared file system).
 */
import path from 'node:path'
import type { ExecutionPlan, PlanPool } from '../../workflow/types.ts'
import { jobCredentialSetup, type JobCredentialSetup } from '../../credentials/index.ts'
import { preflightEnvironment } from '../environments/index.ts'
import type { SiteConfig } from '../../site/schema.ts'
import type { CommandTransport } from '../transport/types.ts'
import { isInside, runtimeArgv } from '../paths.ts'
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
import { SlurmClient } from './slurm/client.ts'
import { SlurmJobs, type SlurmJobRef, type SlurmJobUpdate } from './slurm/jobs.ts'
import { parseSinfo, preflightPools } from './slurm/preflight.ts'
import {
  renderPoolPreview,
  SLURM_ENV_SCRATCH,
  slurmEnvironmentSetup,
  workerSetup,
  type ScriptTask,
  type SlurmProblem,
} from './slurm/script.ts'
import { mapSlurmState, signalName } from './slurm/status.ts'
import { signalNumber } from './batch/signals.ts'
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
import {
  cancelPacked,
  chunk,
  hasResult,
  packArgv,
  packedBusy,
  packedDataOf,
  packedTaskStatus,
  packedTimeLimit,
  packingFor,
  packRuntimeArgv,
  type PackingConfig,
} from './batch/packing.ts'

/** the shared batch options (site, transport, poll intervals, credential policy, baseDir) */
export type SlurmStrategyOptions = BatchStrategyOptions

function credentialHeader(creds: JobCredentialSetup): string[] {
  const vars = Object.entries(creds.env)
  return vars.length ? [`credentials: ${vars.map(([k, v]) => `${k}=${v}`).join(', ')} (staged copies, mode 0600)`] : []
}

/** keeps the config key the problem concerns (`...config.partition`): editors place it there */
function toPoolProblem(p: SlurmProblem): PoolProblem {
  return { ...asPoolProblem(p, p.pool), ...(p.path ? { path: p.path } : {}) }
}

const refKey = (jobId: string, idx: number | null | undefined) => (idx == null ? jobId : `${jobId}_${idx}`)

/** seconds of `--time` for tasks with a timeout and no pool/site walltime */
export function timeLimitFor(timeouts: (number | null)[]): number | null {
  const t = timeouts.filter((x): x is number => typeof x === 'number' && x > 0)
  if (t.length !== timeouts.length || t.length === 0) return null
  const max = Math.max(...t)
  return Math.ceil(max + Math.max(60, max * 0.1))
}

export class SlurmStrategy extends BatchStrategyBase<SlurmStrategyOptions> implements Strategy {
  readonly name = 'slurm'
  readonly workerModel = 'job' as const
  readonly workerKind = 'slurm' as const
  readonly supportsArrays = true
  protected readonly siteSection = 'slurm' as const

  constructor(opts: SlurmStrategyOptions = {}) {
    super(opts)
  }

  async preflight(plan: ExecutionPlan, ctx?: StrategyContext): Promise<PoolProblem[]> {
    let site: SiteConfig
    try {
      site = this.site(ctx)
    } catch (e) {
      return siteConfigInvalid(e)
    }
    const used = plan.pools.filter((p) => p.stages.length > 0)
    const problems: PoolProblem[] = []
    const transport = this.transport(site)
    const exists =
      transport.kind === 'local'
        ? undefined
        : async (p: string) =>
            (await transport.run(['test', '-f', p], { timeoutMs: 30_000 }).catch(() => ({ code: 1 }))).code === 0
    for (const p of await preflightEnvironment(plan.environment, {
      delivery: 'shared-path',
      scratchDir: SLURM_ENV_SCRATCH,
      ...(this.opts.baseDir ? { baseDir: this.opts.baseDir } : {}),
      ...(exists ? { exists } : {}),
    })) {
      problems.push(asPoolProblem(p, null))
    }
    for (const pool of used) {
      const problem = this.packing(pool, plan, site).problem
      if (problem)
        problems.push({ code: 'slurm-invalid-tasks-per-job', severity: 'error', pool: pool.name, message: problem })
    }
    if (ctx?.runDir && site.source && !isInside(site.paths.runs, ctx.runDir)) {
      problems.push({
        code: 'slurm-run-dir-not-shared',
        severity: 'warning',
        pool: null,
        message: `the run directory ${ctx.runDir} is not under the site's shared runs path ${site.paths.runs}: the compute nodes must see it`,
        hint: 'set CONTROLROOM_HOME so that runs live under site paths.runs',
      })
    }
    if (!site.slurm.preflight) return problems
    const client = new SlurmClient(transport, { binDir: site.slurm.binDir, env: site.slurm.env, timeoutMs: 30_000 })
    let text: string
    try {
      text = await client.sinfo()
    } catch (e) {
      return [
        ...problems,
        {
          code: 'slurm-unreachable',
          severity: 'error',
          pool: null,
          message: `cannot ask Slurm about its partitions and nodes (${(e as Error).message})`,
          hint: site.ssh
            ? `check the ssh login host ${site.ssh.host}`
            : 'is the Slurm client installed and SLURM_CONF set? (site slurm.env / binDir)',
        },
      ]
    }
    return [...problems, ...preflightPools(used, site, parseSinfo(text)).map(toPoolProblem)]
  }

  async render(
    pool: PlanPool,
    plan: ExecutionPlan,
    ctx?: StrategyContext & { launch?: TaskLaunch[] },
  ): Promise<RenderedSubmission> {
    const site = this.site(ctx)
    if (ctx?.launch?.length) {
      const runId = ctx.launch[0]!.runId
      const runDir = ctx.runDir ?? path.dirname(path.dirname(ctx.launch[0]!.taskDir))
      const jobs = new SlurmJobs({ transport: this.transport(site), site, runId, runDir })
      const r = jobs.render(
        this.request(
          pool,
          plan,
          ctx.launch,
          site,
          jobCredentialSetup(previewStagedCredentials(plan, runDir), 'shared-path'),
        ),
      )
      return { kind: 'slurm-script', text: r.script, problems: r.problems.map(toPoolProblem) }
    }
    const runId = ctx?.runDir ? path.basename(ctx.runDir) : 'RUN'
    const stage = plan.stages.find((s) => s.pool === pool.name)
    const runDir = ctx?.runDir ?? path.join(site.paths.runs, runId)
    const spec = path.join(runDir, 'tasks', stage ? stage.id : 'TASK', 'spec.json')
    // the example task: the runtime reads the spec file of the pool's first stage
    const creds = jobCredentialSetup(previewStagedCredentials(plan, runDir), 'shared-path')
    const envSetup = this.environmentSetup(plan)
    // a packing pool: the example job runs its first tasks with the packed runtime
    const packing = this.packing(pool, plan, site)
    const runner = this.taskArgv(runtimeArgv(spec), site)
    const examples = [spec, path.join(runDir, 'tasks', `${stage ? stage.id : 'TASK'}-2`, 'spec.json')]
    const taskArgv =
      packing.tasksPerJob > 1
        ? [
            ...packRuntimeArgv(runner)!,
            '--parallel',
            String(packing.parallel),
            ...examples.flatMap((e) => ['--spec', e]),
          ]
        : runner
    const packingProblems: PoolProblem[] = packing.problem
      ? [{ code: 'slurm-invalid-tasks-per-job', severity: 'error', pool: pool.name, message: packing.problem }]
      : []
    const r = renderPoolPreview(
      plan,
      pool,
      { ...site, paths: { ...site.paths, runs: path.dirname(runDir) } },
      {
        runId,
        taskArgv,
        env: creds.env,
        header: [
          ...(packing.tasksPerJob > 1
            ? [packingHeader(packing), `… one --spec per task of the job, up to ${packing.tasksPerJob}`]
            : []),
          ...(envSetup.type !== 'shared-fs' ? [envSetup.summary] : []),
          ...credentialHeader(creds),
        ],
        ...(this.opts.baseDir ? { baseDir: this.opts.baseDir } : {}),
      },
    )
    const envProblems = envSetup.problems.map((p) => asPoolProblem(p, null))
    return {
      kind: 'slurm-script',
      text: r.script,
      problems: [...r.problems.map(toPoolProblem), ...envProblems, ...packingProblems],
    }
  }

  mapState(external: ExternalJobState): MappedJobState {
    const sig =
      typeof external.signal === 'number' ? external.signal : external.signal ? signalNumber(external.signal) : null
    const m = mapSlurmState({
      state: external.state,
      reason: external.reason ?? null,
      exitCode: external.exitCode ?? null,
      signal: sig,
    })
    return { worker: m.worker, task: m.task, final: m.final, reason: m.reasonText, hopeless: m.hopeless }
  }

  async open(ctx: StrategyRunContext): Promise<StrategySession> {
    const site = this.site(ctx)
    return new SlurmSession(this, ctx, site, this.transport(site, ctx.runAs), this.opts)
  }

  /** the worker environment of a plan as Slurm jobs get it (shared path, node scratch) */
  environmentSetup(plan: Pick<ExecutionPlan, 'environment'>) {
    return slurmEnvironmentSetup(plan.environment, this.opts.baseDir)
  }

  /**
   * How a pool packs tasks into jobs (batch/packing.ts). Packing needs the packed runtime beside
   * runner.mjs: a site taskCommand that does not start runner.mjs keeps one job per task.
   */
  packing(pool: PlanPool, plan: Pick<ExecutionPlan, 'stages'>, site: SiteConfig): PackingConfig {
    const p = packingFor(pool, plan, site.slurm, 'slurm')
    if (p.tasksPerJob > 1 && !packRuntimeArgv(this.taskArgv(runtimeArgv('/x/spec.json'), site)))
      return { ...p, tasksPerJob: 1, source: 'site taskCommand does not start runner.mjs: a job per task' }
    return p
  }

  /** tasks one job of this pool carries (the backend lets pool.workers jobs of this many run) */
  tasksPerJob(pool: PlanPool, plan: ExecutionPlan, ctx?: StrategyContext): number {
    try {
      return this.packing(pool, plan, this.site(ctx)).tasksPerJob
    } catch {
      return 1
    }
  }

  /** the launches as the jobs' tasks: one ScriptTask per launch, or per pack of launches */
  jobTasks(pool: PlanPool, plan: ExecutionPlan, launches: TaskLaunch[], site: SiteConfig) {
    const packing = this.packing(pool, plan, site)
    const chunks = packing.tasksPerJob > 1 ? chunk(launches, packing.tasksPerJob) : launches.map((l) => [l])
    const tasks: ScriptTask[] = chunks.map((c) => {
      const argv = this.taskArgv(c[0]!.argv, site)
      if (c.length === 1) return { taskId: c[0]!.taskId, argv, env: c[0]!.env }
      return {
        taskId: c[0]!.taskId,
        argv: packArgv(
          packRuntimeArgv(argv)!,
          packing.parallel,
          c.map((l) => l.specPath),
        ),
        packed: c.map((l) => l.taskId),
      }
    })
    const timeLimitSeconds = chunks.some((c) => c.length > 1)
      ? Math.max(0, ...chunks.map((c) => packedTimeLimit(c, packing.parallel) ?? Number.POSITIVE_INFINITY))
      : timeLimitFor(launches.map((l) => l.timeoutSeconds))
    return {
      packing,
      chunks,
      tasks,
      timeLimitSeconds: Number.isFinite(timeLimitSeconds) ? timeLimitSeconds : null,
    }
  }

  request(pool: PlanPool, plan: ExecutionPlan, launches: TaskLaunch[], site: SiteConfig, creds?: JobCredentialSetup) {
    const { tasks, chunks, packing, timeLimitSeconds } = this.jobTasks(pool, plan, launches, site)
    const envSetup = this.environmentSetup(plan)
    return {
      pool,
      tasks,
      chunks,
      setup: workerSetup(plan.environment, site, { baseDir: this.opts.baseDir, rendered: envSetup }),
      ...(creds && Object.keys(creds.env).length ? { env: creds.env } : {}),
      arrayParallelism: tasks.length > 1 ? Math.max(1, pool.workers) : undefined,
      timeLimitSeconds,
      header: [
        `stage ${[...new Set(launches.map((l) => l.stageId))].join(', ')}; attempt ${[...new Set(launches.map((l) => l.attempt))].join(',')}`,
        ...(packing.tasksPerJob > 1 ? [packingHeader(packing)] : []),
        ...(envSetup.type !== 'shared-fs' ? [envSetup.summary] : []),
        ...(creds ? credentialHeader(creds) : []),
      ],
    }
  }
}

/** the preview's line about packing */
export function packingHeader(p: PackingConfig): string {
  return `packed: up to ${p.tasksPerJob} tasks per job (${p.source}), ${p.parallel} at a time (pool cpus); each task keeps its own spec, logs and result`
}

class SlurmSession implements StrategySession {
  private readonly jobs: SlurmJobs
  /** contract refs by Slurm key (jobId or jobId_index) */
  private readonly refs = new Map<string, JobRef>()
  /** the tasks of each packed job by Slurm key (their refs carry data.packed) */
  private readonly packs = new Map<string, JobRef[]>()
  private readonly credentials: RunCredentials
  /** the contract ref of every submitted task */
  private readonly byTask = new Map<string, JobRef>()
  /** some task of a packed job runs or waits in a running job (poll its files often) */
  private packsBusy = false

  constructor(
    private readonly strategy: SlurmStrategy,
    private readonly ctx: StrategyRunContext,
    private readonly site: SiteConfig,
    private readonly transport: CommandTransport,
    opts: SlurmStrategyOptions,
  ) {
    // errors only: the engine's preflight made the warnings run events already
    this.credentials = new RunCredentials(ctx, transport, {
      delivery: 'shared-path',
      credentialPolicy: opts.credentialPolicy,
      credentialEnv: opts.credentialEnv,
      logWarnings: false,
    })
    this.jobs = new SlurmJobs({
      transport,
      site,
      runId: ctx.runId,
      runDir: ctx.runDir,
      ...pollIntervals(opts),
      onUpdate: (u) => {
        for (const s of this.toStatuses(u)) ctx.onStatus(s)
      },
    })
  }

  /** the statuses a job update means: its task's, or each of its packed tasks' (read from their files) */
  private toStatuses(u: SlurmJobUpdate): JobStatus[] {
    const k = refKey(u.ref.jobId, u.ref.arrayIndex)
    const members = this.packs.get(k)
    if (members) return members.map((ref) => packedTaskStatus(ref, this.toStatus(u, ref)))
    const ref = this.refs.get(k)
    return ref ? [this.toStatus(u, ref)] : []
  }

  private toStatus(u: SlurmJobUpdate, ref: JobRef): JobStatus {
    if (u.ref.elementJobId && ref.data?.elementJobId !== u.ref.elementJobId)
      ref.data = { ...ref.data, elementJobId: u.ref.elementJobId }
    // a hopeless pending job (already cancelled by SlurmJobs) is reported as the contract's
    // `hopeless` queued state: the backend fails the task with the reason (it never ran)
    const hopeless = u.hopeless
    return {
      ref,
      worker: hopeless ? 'pending-in-queue' : u.worker,
      task: hopeless ? 'queued' : u.task,
      final: hopeless ? false : u.final,
      reason: u.reasonText,
      hopeless,
      raw: u.slurmState,
      exitCode: u.exitCode,
      signal: u.signal != null ? signalName(u.signal) : null,
      host: u.nodes,
      startedAt: u.startTime ? new Date(u.startTime * 1000).toISOString() : null,
      endedAt: u.endTime && u.final ? new Date(u.endTime * 1000).toISOString() : null,
    }
  }

  private slurmRef(ref: JobRef): SlurmJobRef {
    return {
      taskId: ref.taskId,
      pool: ref.pool,
      jobId: ref.jobId.split('_')[0]!,
      arrayIndex: ref.arrayIndex ?? (ref.jobId.includes('_') ? Number(ref.jobId.split('_')[1]) : null),
      elementJobId: typeof ref.data?.elementJobId === 'string' ? ref.data.elementJobId : null,
    }
  }

  async submit(group: TaskLaunch[]): Promise<SubmitResult[]> {
    if (group.length === 0) return []
    const { creds, blocked } = await this.credentials.prepare()
    if (blocked) return group.map((l) => ({ ok: false, taskId: l.taskId, problem: { ...blocked, pool: l.pool } }))
    const results = new Map<string, SubmitResult>()
    for (const [poolName, launches] of byPool(group)) {
      const pool = this.ctx.plan.pools.find((p) => p.name === poolName)
      if (!pool) {
        for (const l of launches)
          results.set(l.taskId, { ok: false, taskId: l.taskId, problem: unknownPoolProblem(poolName) })
        continue
      }
      // packs of tasks first (tasks_per_job), then one job array of them or a job each
      const packs = this.strategy.jobTasks(pool, this.ctx.plan, launches, this.site).chunks
      const batches = this.site.slurm.arrays && packs.length > 1 ? [packs.flat()] : packs
      for (const batch of batches) {
        const req = this.strategy.request(pool, this.ctx.plan, batch, this.site, creds)
        const jobsOf = req.chunks
        const submitReq = {
          ...req,
          // register the contract refs before the first status (`requested`) is pushed
          onSubmitted: (srefs: SlurmJobRef[], info: { scriptPath: string; cluster: string | null }) => {
            srefs.forEach((sref, i) => {
              const job = refKey(sref.jobId, sref.arrayIndex)
              const members = jobsOf[i]!
              const refs = members.map(
                (l, j): JobRef => ({
                  taskId: l.taskId,
                  attempt: l.attempt,
                  pool: poolName,
                  jobId: job,
                  arrayIndex: sref.arrayIndex,
                  workerId: members.length > 1 ? `slurm-${job}.${j}` : `slurm-${job}`,
                  host: null,
                  pid: null,
                  data: {
                    scriptPath: info.scriptPath,
                    arrayJobId: sref.arrayIndex !== null ? sref.jobId : null,
                    cluster: info.cluster,
                    ...(members.length > 1
                      ? { packed: { job, index: j, of: members.length, taskDir: l.taskDir } }
                      : {}),
                  },
                }),
              )
              if (members.length > 1) this.packs.set(job, refs)
              else this.refs.set(job, refs[0]!)
              for (const r of refs) this.byTask.set(r.taskId, r)
            })
          },
        }
        let out
        try {
          out = await this.jobs.submit(submitReq)
        } catch (e) {
          out = submitThrew('slurm-submit-failed', poolName, e)
        }
        if (!out.ok) {
          for (const l of batch)
            results.set(l.taskId, {
              ok: false,
              taskId: l.taskId,
              problem: toPoolProblem(out.problem),
              ...(out.problem.retryable ? { retryable: true } : {}),
            })
          if (out.problem.code !== 'slurm-unreachable') this.ctx.log('error', problemLine(out.problem))
          continue
        }
        for (const w of out.warnings) this.ctx.log('warn', w)
        for (const l of batch) results.set(l.taskId, { ok: true, ref: this.byTask.get(l.taskId)! })
      }
    }
    return group.map((l) => results.get(l.taskId)!)
  }

  private adopt(jobs: JobRef[]): void {
    const fresh: SlurmJobRef[] = []
    for (const ref of jobs) {
      const s = this.slurmRef(ref)
      const k = refKey(s.jobId, s.arrayIndex)
      if (packedDataOf(ref)) {
        const members = this.packs.get(k) ?? []
        if (!members.some((m) => m.taskId === ref.taskId && m.attempt === ref.attempt))
          this.packs.set(k, [...members, ref])
      } else if (!this.refs.has(k)) this.refs.set(k, ref)
      if (!this.jobs.isTracked(s.jobId, s.arrayIndex) && !fresh.some((f) => refKey(f.jobId, f.arrayIndex) === k))
        fresh.push(s)
    }
    if (fresh.length) this.jobs.attach(fresh)
  }

  /** one status per given ref, same order (a job not heard of yet is `requested`) */
  private statuses(jobs: JobRef[]): JobStatus[] {
    return jobs.map((ref) => {
      const s = this.slurmRef(ref)
      const u = this.jobs.statusOfJob(s.jobId, s.arrayIndex)
      const own = packedDataOf(ref) ? ref : (this.refs.get(refKey(s.jobId, s.arrayIndex)) ?? ref)
      const st = u ? this.toStatus(u, own) : null
      const job: JobStatus = st ?? {
        ref: own,
        worker: 'requested',
        task: 'queued',
        final: false,
        reason: 'waiting for Slurm to report the job',
        hopeless: false,
        raw: 'UNKNOWN',
        exitCode: null,
        signal: null,
        host: null,
      }
      return packedDataOf(ref) ? packedTaskStatus(ref, job) : job
    })
  }

  async poll(jobs: JobRef[]): Promise<JobStatus[]> {
    this.adopt(jobs)
    await this.jobs.poll()
    const out = this.statuses(jobs)
    this.packsBusy = packedBusy(out)
    return out
  }

  /**
   * scancel the jobs; a task of a packed job whose other tasks go on gets its cancel file instead
   * (the packed runtime stops that task only)
   */
  async cancel(jobs: JobRef[]): Promise<void> {
    const { wholeJobs } = await cancelPacked(
      jobs,
      (job) => this.packs.get(job) ?? [],
      (ref) => hasResult(ref),
      this.transport,
    )
    const ids = jobs
      .filter((r) => !packedDataOf(r))
      .map((r) => {
        const s = this.slurmRef(r)
        return refKey(s.jobId, s.arrayIndex)
      })
    const all = [...new Set([...ids, ...wholeJobs])]
    if (all.length) await this.jobs.client.scancel(all)
  }

  async reattach(jobs: JobRef[]): Promise<JobStatus[]> {
    this.adopt(jobs)
    await this.jobs.poll()
    return this.statuses(jobs)
  }

  pollIntervalMs(): number {
    // tasks of a running packed job start and end without Slurm noticing: their files are read often
    return this.packsBusy ? Math.min(this.jobs.currentInterval, 1000) : this.jobs.currentInterval
  }

  async close(opts?: { detach?: boolean }): Promise<void> {
    await this.jobs.close()
    await this.credentials.remove(opts)
    // the ssh control master (if any) is shared by the strategy's transport; it expires by itself (ControlPersist)
  }
}

/** the default instance (site config from StrategyContext.site or the site file) */
export const slurmStrategy = new SlurmStrategy()

export function createSlurmStrategy(opts: SlurmStrategyOptions = {}): SlurmStrategy {
  return new SlurmStrategy(opts)
}
