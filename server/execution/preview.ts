/**
 * Submission preview: EXACTLY what would be submitted for every pool of a workflow, from its YAML
 * (saved or not): the sbatch script (slurm), the submit description + job script (htcondor), the
 * Dask worker job (dask backend: the worker's sbatch script / submit description / command), or the
 * task command (local). Compiles, resolves the drivers from the registry, runs their preflight
 * (read-only queries such as `sinfo`; a missing batch system is a problem, not an error) and renders
 * each pool with the site config. Nothing is submitted, nothing is written.
 */
import type { ProblemCode } from '../workflow/problem-codes.ts'
import path from 'node:path'
import { compileWorkflow } from '../workflow/index.ts'
import { siteProblemsAsCompileProblems } from '../workflow/site-problems.ts'
import type { ExecutionPlan, PlanPool, Problem } from '../workflow/types.ts'
import type { SiteConfig } from '../site/schema.ts'
import { controlroomHome, defaultSiteConfig, loadSiteConfig } from '../site/load.ts'
import './drivers.ts'
import { checkOps } from './ops.ts'
import './ops/hep.ts' // the hep.* ops (as the engine registers them)
import { resolveDrivers } from './registry.ts'
import type { Backend, PoolProblem, RenderedSubmission, Strategy } from './types.ts'
import type { CommandTransport } from './transport/types.ts'
import { daskWorkerArgv } from './backends/dask/deploy/command.ts'
import { SlurmWorkers } from './backends/dask/deploy/slurm.ts'
import { HTCondorWorkers } from './backends/dask/deploy/htcondor.ts'
import { workerSetupLines } from './backends/dask/session.ts'

/** largest YAML accepted by the preview (the tRPC input is limited to the same) */
export const PREVIEW_MAX_YAML = 512 * 1024

export interface PoolSubmissionPreview {
  pool: string
  /** stages routed to the pool */
  stages: string[]
  submission: RenderedSubmission | null
  /** problems that concern this pool (render + preflight) */
  problems: PoolProblem[]
  /** the render itself failed */
  error?: string
}

export interface SubmissionPreview {
  /**
   * "plan ok" on this site: false when the YAML does not compile to a plan (compileProblems) or the
   * site cannot run it (an error in siteProblems: a pool this host, the Slurm cluster's partitions
   * or the Dask scheduler's workers cannot give, an unreachable batch system, ...)
   */
  ok: boolean
  backend: string | null
  strategy: string | null
  /** what each text is: `slurm-script` | `condor-submit` | `command` | `dask-worker-slurm` | ... */
  compileProblems: Pick<Problem, 'code' | 'severity' | 'message'>[]
  /** plan-level problems (pool null), e.g. Slurm unreachable, driver unavailable */
  problems: PoolProblem[]
  /**
   * every preflight and render problem (plan-level and per pool) placed at the YAML it concerns
   * (file:line:col), for the editor's Problems list beside the compiler's own
   */
  siteProblems: Problem[]
  pools: PoolSubmissionPreview[]
}

export interface PreviewOptions {
  overrides?: { backend?: string; strategy?: string }
  /** the site configuration (default: the site file, or the defaults) */
  site?: SiteConfig
  /** per-preflight timeout (ms, default 10 s) */
  preflightTimeoutMs?: number
}

/** a transport that refuses to run anything: the preview never submits */
const NO_TRANSPORT: CommandTransport = {
  description: 'preview (no commands)',
  kind: 'local',
  run: async () => {
    throw new Error('the submission preview runs no batch commands')
  },
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not answer within ${Math.round(ms / 1000)} s`)), ms)
    t.unref?.()
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    )
  })
}

function siteOrProblem(opts: PreviewOptions): { site: SiteConfig; problem: PoolProblem | null } {
  if (opts.site) return { site: opts.site, problem: null }
  try {
    return { site: loadSiteConfig(), problem: null }
  } catch (e) {
    return {
      site: defaultSiteConfig(controlroomHome()),
      problem: {
        code: 'site-config-invalid',
        severity: 'error',
        pool: null,
        message: `${(e as Error).message} (the preview uses the default site settings)`,
      },
    }
  }
}

function str(c: Record<string, unknown> | undefined, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = c?.[k]
    if (typeof v === 'string' && v.trim()) return v.trim()
  }
  return null
}

/** the Dask worker job of a pool (dask backend), rendered by the same code that submits it */
function renderDaskWorker(pool: PlanPool, plan: ExecutionPlan, site: SiteConfig, runDir: string): RenderedSubmission {
  const cfg = { ...(site.dask ?? {}), ...(plan.config ?? {}) } as Record<string, unknown>
  const envPython = str(plan.environment as unknown as Record<string, unknown>, 'python')
  const python = str(cfg, 'worker_python', 'workerPython') ?? str(cfg, 'python') ?? envPython ?? 'python3'
  const schedulerAddress = str(cfg, 'scheduler_address', 'schedulerAddress') ?? 'tcp://<scheduler-host>:<port>'
  const dir = path.posix.join(runDir, 'dask')
  const runId = path.basename(runDir)
  const name = `${pool.name}-0`
  const base = { pools: plan.pools, schedulerAddress, python, dir, maxRestarts: 0 }
  const strategy: string = plan.strategy
  const toProblem = (p: { message: string; severity: string; code?: ProblemCode; hint?: string }): PoolProblem => ({
    code: p.code ?? 'dask-worker-render',
    severity: p.severity === 'error' ? 'error' : 'warning',
    pool: pool.name,
    message: p.message,
    ...(p.hint ? { hint: p.hint } : {}),
  })
  if (strategy === 'slurm') {
    const d = new SlurmWorkers({
      ...base,
      site,
      transport: NO_TRANSPORT,
      runId,
      setup: workerSetupLines(plan.environment ?? null, site),
      preflight: false,
    })
    const r = d.renderWorkerScript(pool, name)
    return { kind: 'dask-worker-slurm', text: r.script, problems: r.problems.map(toProblem) }
  }
  if (strategy === 'htcondor') {
    const d = new HTCondorWorkers({
      ...base,
      site,
      transport: NO_TRANSPORT,
      runId,
      setup: workerSetupLines(plan.environment ?? null, site),
    })
    const r = d.render(pool, name)
    return {
      kind: 'dask-worker-htcondor',
      text: `${r.submit}\n# ---- worker script ${r.scriptPath} ----\n${r.script}`,
      problems: r.problems.map(toProblem),
    }
  }
  const argv = daskWorkerArgv({
    python,
    schedulerAddress,
    pool,
    name,
    localDirectory: path.posix.join(dir, 'workers', 'space'),
    host: '127.0.0.1',
  })
  const quoted = argv.map((a) => (/^[\w@%+=:,./<>-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
  const text = [
    `# pool '${pool.name}': ${pool.workers} Dask worker process${pool.workers === 1 ? '' : 'es'} on this host (${pool.name}-0 … ${pool.name}-${Math.max(0, pool.workers - 1)})`,
    `# each worker carries the resource pool.${pool.name}=1 and runs one task at a time`,
    quoted,
  ].join('\n')
  return { kind: 'dask-worker-local', text: text + '\n', problems: [] }
}

/** preview the submissions of every pool for a workflow's YAML. Never throws for bad input. */
export async function previewSubmissions(yaml: string, opts: PreviewOptions = {}): Promise<SubmissionPreview> {
  if (yaml.length > PREVIEW_MAX_YAML) {
    return {
      ok: false,
      backend: null,
      strategy: null,
      compileProblems: [
        { code: 'too-large', severity: 'error', message: `the workflow is larger than ${PREVIEW_MAX_YAML} characters` },
      ],
      problems: [],
      siteProblems: [],
      pools: [],
    }
  }
  const o = opts.overrides
  // an override is checked as if written in the file (e.g. a packed environment under --strategy local)
  const compiled = compileWorkflow(yaml, o?.backend || o?.strategy ? { overrides: o } : {})
  const compileProblems = compiled.problems
    .filter((p) => p.severity === 'error')
    .map((p) => ({ code: p.code, severity: p.severity, message: `line ${p.range.start.line}: ${p.message}` }))
  if (!compiled.plan)
    return { ok: false, backend: null, strategy: null, compileProblems, problems: [], siteProblems: [], pools: [] }
  let plan = compiled.plan
  if (o?.backend || o?.strategy)
    plan = {
      ...plan,
      backend: (o.backend ?? plan.backend) as ExecutionPlan['backend'],
      strategy: (o.strategy ?? plan.strategy) as ExecutionPlan['strategy'],
    }

  const { site, problem: siteProblem } = siteOrProblem(opts)
  const problems: PoolProblem[] = siteProblem ? [siteProblem] : []
  for (const p of checkOps(plan))
    problems.push({
      code: p.code,
      severity: 'error',
      pool: plan.stages.find((s) => s.id === p.stage)?.pool ?? null,
      message: p.message,
    })

  let drivers: { backend: Backend; strategy: Strategy } | null = null
  try {
    drivers = resolveDrivers(plan.backend, plan.strategy)
  } catch (e) {
    problems.push({ code: 'driver-unavailable', severity: 'error', pool: null, message: (e as Error).message })
  }
  const runDir = path.join(site.paths.runs, 'RUN')
  const ctx = { site }
  const timeout = opts.preflightTimeoutMs ?? 10_000
  if (drivers) {
    const d = drivers
    const checks: Promise<PoolProblem[]>[] = d.backend.checksCapacity?.(plan)
      ? []
      : [withTimeout(d.strategy.preflight(plan, ctx), timeout, `${d.strategy.name} preflight`)]
    if (d.backend.preflight)
      checks.push(withTimeout(d.backend.preflight(plan, d.strategy, ctx), timeout, `${d.backend.name} preflight`))
    for (const r of await Promise.allSettled(checks)) {
      if (r.status === 'fulfilled') problems.push(...r.value)
      else
        problems.push({
          code: 'preflight-failed',
          severity: 'error',
          pool: null,
          message: `preflight failed: ${(r.reason as Error)?.message ?? String(r.reason)}`,
        })
    }
  }

  const pools: PoolSubmissionPreview[] = []
  for (const pool of plan.pools) {
    const entry: PoolSubmissionPreview = {
      pool: pool.name,
      stages: [...pool.stages],
      submission: null,
      problems: problems.filter((p) => p.pool === pool.name),
    }
    if (drivers) {
      try {
        entry.submission =
          plan.backend === 'dask'
            ? renderDaskWorker(pool, plan, site, runDir)
            : await drivers.strategy.render(pool, plan, ctx)
        for (const p of entry.submission.problems)
          if (!entry.problems.some((q) => q.code === p.code && q.message === p.message))
            entry.problems.push({ ...p, pool: p.pool ?? pool.name })
      } catch (e) {
        entry.error = (e as Error).message
      }
    }
    pools.push(entry)
  }
  const everySiteProblem = [
    ...problems.filter((p) => p.pool === null || !plan.pools.some((pp) => pp.name === p.pool)),
    ...pools.flatMap((p) => p.problems),
  ]
  const siteProblems = siteProblemsAsCompileProblems(yaml, everySiteProblem)
  return {
    ok: compileProblems.length === 0 && !siteProblems.some((p) => p.severity === 'error'),
    backend: plan.backend,
    strategy: plan.strategy,
    compileProblems,
    problems: problems.filter((p) => p.pool === null || !plan.pools.some((pp) => pp.name === p.pool)),
    siteProblems,
    pools,
  }
}
