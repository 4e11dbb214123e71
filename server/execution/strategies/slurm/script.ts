/**
 * Slurm job scripts: pure rendering (no I/O) from a plan pool + site config + tasks to a bash
 * script with #SBATCH directives. The same function renders the preview shown in the plan panel
 * before dispatch and the script actually submitted, so users see exactly what runs.
 *
 * Dependencies between tasks: by default our engine holds them (a task is submitted only when
 * its upstream tasks succeeded). That keeps failure policy, retries, `lost` handling and the
 * behaviour across backends (local, slurm, htcondor, dask) identical: Slurm's own `afterok`
 * cannot retry a failed upstream task, leaves dependants pending (DependencyNeverSatisfied) and
 * cannot express a dependency on a task that runs on another backend. `afterok` is available
 * (site `slurm.dependencies: afterok`) for sites that want the whole chain queued up front
 * (shorter gaps between stages on busy clusters); we then add `--kill-on-invalid-dep=yes` so a
 * failed upstream cancels the dependants instead of leaving them pending forever.
 */
import type { ProblemCode } from '../../../workflow/problem-codes.ts'
import type { ExecutionPlan, PlanPool } from '../../../workflow/types.ts'
import type { SiteConfig } from '../../../site/schema.ts'
import { shellJoin, shellQuote } from '../../transport/quote.ts'
import { asList, asString, envExportLines } from '../batch/shell.ts'
import { tryParseDuration } from '../../../workflow/units.ts'
import { renderEnvironmentSetup } from '../../environments/index.ts'
import type { EnvironmentSetup } from '../../environments/types.ts'

export interface SlurmProblem {
  /** stable kebab-case id, e.g. `slurm-invalid-partition` */
  code: ProblemCode
  severity: 'error' | 'warning'
  /** the pool it concerns, when known */
  pool: string | null
  message: string
  hint?: string
  /** the config key (e.g. `execution.pools.gpu.config.partition`) when it comes from one */
  path?: string
}

export interface Directive {
  /** the sbatch option without value, e.g. `--mem` */
  flag: string
  /** `--mem=4000M` */
  text: string
  /** where it came from, shown next to it in the preview: `pool.resources.memory`, `site.slurm.partition`, ... */
  source: string
}

/** one task launched by a job (or by one element of a job array) */
export interface ScriptTask {
  /** the engine's task id (exported as CONTROLROOM_TASK_ID) */
  taskId: string
  /** the command that runs the task runtime */
  argv: string[]
  /** per-task environment */
  env?: Record<string, string>
  /** a packed job's tasks (argv runs runtime/pack.mjs over their specs; taskId is the first) */
  packed?: string[]
}

export interface JobSpec {
  jobName: string
  pool: PlanPool
  /** working directory of the job (the run directory on the shared file system) */
  workDir: string
  /** directory for Slurm's own stdout/stderr files */
  logDir: string
  /** one task = a plain job; several = a job array, element i runs tasks[i] */
  tasks: ScriptTask[]
  /** array throttle (`--array=0-N%k`): at most k elements at once */
  arrayParallelism?: number
  /** `--dependency=afterok:...` (only with site `slurm.dependencies: afterok`) */
  afterOk?: string[]
  /** `--comment` (traceability: run and pool) */
  comment?: string
  /** environment exported by every task of the job */
  env?: Record<string, string>
  /** a few lines describing the job, written as comments at the top */
  header?: string[]
  /**
   * `--time` when neither the pool nor the site gives one: the tasks' own timeout plus a margin,
   * so a hung runtime cannot hold the allocation forever (the runtime enforces the exact timeout).
   */
  timeLimitSeconds?: number | null
}

export interface RenderedScript {
  script: string
  directives: Directive[]
  problems: SlurmProblem[]
}

// ---------------------------------------------------------------- units

/** bytes -> whole MiB (Slurm's `M`), rounded up so a request is never below what the pool asked */
export function bytesToSlurmMB(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / (1024 * 1024)))
}

/** seconds -> Slurm time `D-HH:MM:SS` (or `HH:MM:SS` under a day); rounds up to whole seconds */
export function formatSlurmTime(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds))
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const hms = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
  return d > 0 ? `${d}-${hms}` : hms
}

/** accepted Slurm `--time` formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, UNLIMITED */
export const SLURM_TIME_RE =
  /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$/i

/** parse a Slurm time string to seconds (null for unlimited or unparseable) */
export function parseSlurmTime(t: string): number | null {
  if (!SLURM_TIME_RE.test(t) || /^(UNLIMITED|INFINITE)$/i.test(t)) return null
  let days = 0
  let rest = t
  const dash = t.indexOf('-')
  if (dash >= 0) {
    days = Number(t.slice(0, dash))
    rest = t.slice(dash + 1)
    const p = rest.split(':').map(Number)
    return days * 86400 + (p[0] ?? 0) * 3600 + (p[1] ?? 0) * 60 + (p[2] ?? 0)
  }
  const p = rest.split(':').map(Number)
  if (p.length === 1) return p[0]! * 60
  if (p.length === 2) return p[0]! * 60 + p[1]!
  return p[0]! * 3600 + p[1]! * 60 + p[2]!
}

// ---------------------------------------------------------------- names

/** job name `<prefix>-<run>-<pool>`: only [A-Za-z0-9_.-], so it filters exactly with `squeue --name` */
export function jobNameFor(prefix: string, runId: string, pool: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_')
  return `${clean(prefix)}-${clean(runId).slice(0, 12)}-${clean(pool)}`.slice(0, 100)
}

// ---------------------------------------------------------------- directives

const RESERVED_EXTRA = new Set([
  '--job-name',
  '-J',
  '--output',
  '-o',
  '--error',
  '-e',
  '--array',
  '-a',
  '--parsable',
  '--wrap',
  '--dependency',
  '-d',
  '--chdir',
  '-D',
  '--comment',
])

/** characters that cannot appear in a directive value (sbatch splits directive lines on blanks) */
const SAFE_VALUE = /^[^\s"'\\`$;]+$/

/**
 * The #SBATCH directives of a pool (resources and site config), with the problems found in its
 * config. Does not include the job-specific ones (name, output, array, dependency).
 */
export function poolDirectives(
  pool: PlanPool,
  site: Pick<SiteConfig, 'slurm'>,
): { directives: Directive[]; problems: SlurmProblem[] } {
  const d: Directive[] = []
  const problems: SlurmProblem[] = []
  // the workflow's pool config wins over the site's per-pool defaults (site slurm.pools.<name>)
  const siteDefaults = (site.slurm.pools?.[pool.name] ?? {}) as Record<string, unknown>
  const own = pool.config ?? {}
  const cfg: Record<string, unknown> = { ...siteDefaults, ...own }
  if (own.walltime !== undefined || own.walltimeSeconds !== undefined || own.time !== undefined) {
    // a walltime of the pool replaces the site's, in whichever form
    if (own.walltimeSeconds === undefined) delete cfg.walltimeSeconds
  } else if (siteDefaults.walltime !== undefined) {
    delete cfg.walltimeSeconds
    if (typeof siteDefaults.walltime === 'number') cfg.walltimeSeconds = siteDefaults.walltime
  }
  const src = (k: string) => (own[k] !== undefined ? `pool.config.${k}` : `site.slurm.pools.${pool.name}.${k}`)
  const cfgPath = (k: string) => `execution.pools.${pool.name}.config.${k}`
  const add = (flag: string, value: string | null, source: string, key?: string) => {
    if (value === null) {
      d.push({ flag, text: flag, source })
      return
    }
    if (!SAFE_VALUE.test(value)) {
      problems.push({
        code: 'slurm-invalid-value',
        severity: 'error',
        pool: pool.name,
        message: `${flag} value ${JSON.stringify(value)} contains blanks, quotes or shell characters`,
        hint: 'Slurm option values are single words',
        ...(key ? { path: key } : {}),
      })
      return
    }
    d.push({ flag, text: `${flag}=${value}`, source })
  }

  add('--nodes', '1', 'strategy')
  add('--ntasks', '1', 'strategy')
  const cpus = Math.max(1, Math.floor(pool.resources.cpus || 1))
  add('--cpus-per-task', String(cpus), 'pool.resources.cpus')
  if (pool.resources.memoryBytes != null && pool.resources.memoryBytes > 0) {
    add('--mem', `${bytesToSlurmMB(pool.resources.memoryBytes)}M`, 'pool.resources.memory')
  }
  if (pool.resources.gpus > 0) {
    const type = asString(cfg.gpu_type ?? cfg.gpuType)
    add('--gres', `gpu:${type ? `${type}:` : ''}${Math.floor(pool.resources.gpus)}`, 'pool.resources.gpus')
  }
  if (pool.resources.diskBytes != null && pool.resources.diskBytes > 0) {
    add('--tmp', `${bytesToSlurmMB(pool.resources.diskBytes)}M`, 'pool.resources.disk')
  }

  const fromCfgOrSite = (key: 'partition' | 'account' | 'qos', flag: string) => {
    const value = asString(cfg[key])
    if (value) add(flag, value, src(key), cfgPath(key))
    else if (site.slurm[key]) add(flag, site.slurm[key]!, `site.slurm.${key}`)
  }
  fromCfgOrSite('partition', '--partition')
  fromCfgOrSite('account', '--account')
  fromCfgOrSite('qos', '--qos')

  const constraint = asList(cfg.constraint ?? cfg.constraints)
  if (constraint.length) add('--constraint', constraint.join('&'), src('constraint'), cfgPath('constraint'))

  // walltime: the compiler gives `walltimeSeconds` when it parsed `walltime`
  const wSec = typeof cfg.walltimeSeconds === 'number' ? cfg.walltimeSeconds : null
  const wRaw = asString(cfg.walltime ?? cfg.time)
  if (wSec && wSec > 0) add('--time', formatSlurmTime(wSec), src('walltime'))
  else if (wRaw) {
    const parsed = tryParseDuration(wRaw)
    if (SLURM_TIME_RE.test(wRaw)) add('--time', wRaw, src('walltime'), cfgPath('walltime'))
    else if (parsed.ok && parsed.value > 0)
      add('--time', formatSlurmTime(parsed.value), src('walltime'), cfgPath('walltime'))
    else
      problems.push({
        code: 'slurm-invalid-walltime',
        severity: 'error',
        pool: pool.name,
        message: `walltime ${JSON.stringify(wRaw)} is neither a duration nor a Slurm time (D-HH:MM:SS)`,
        hint: 'e.g. walltime: 2h, 90m or "1-00:00:00"',
        path: cfgPath('walltime'),
      })
  } else if (site.slurm.walltime != null) {
    const w = site.slurm.walltime
    const p = typeof w === 'string' && !SLURM_TIME_RE.test(w) ? tryParseDuration(w) : null
    add(
      '--time',
      typeof w === 'number' ? formatSlurmTime(w) : p?.ok ? formatSlurmTime(p.value) : w,
      'site.slurm.walltime',
    )
  }

  const extras: { text: string; source: string; path?: string }[] = [
    ...site.slurm.extra.map((t) => ({ text: t, source: 'site.slurm.extra' })),
    ...asList(siteDefaults.extra).map((t) => ({ text: t.trim(), source: `site.slurm.pools.${pool.name}.extra` })),
    ...asList(own.extra).map((t) => ({ text: t.trim(), source: 'pool.config.extra', path: cfgPath('extra') })),
  ]
  for (const e of extras) {
    const m = /^(--[A-Za-z][A-Za-z0-9-]*)(?:=(.*))?$/.exec(e.text)
    if (!m) {
      problems.push({
        code: 'slurm-invalid-extra',
        severity: 'error',
        pool: pool.name,
        message: `extra directive ${JSON.stringify(e.text)} must start with -- (e.g. --exclusive or --mail-type=END)`,
        ...(e.path ? { path: e.path } : {}),
      })
      continue
    }
    if (RESERVED_EXTRA.has(m[1]!)) {
      problems.push({
        code: 'slurm-reserved-extra',
        severity: 'error',
        pool: pool.name,
        message: `extra directive ${m[1]} is set by Control Room (it tracks jobs by name, logs and arrays)`,
        ...(e.path ? { path: e.path } : {}),
      })
      continue
    }
    if (m[2] !== undefined) add(m[1]!, m[2], e.source, e.path)
    else add(m[1]!, null, e.source, e.path)
  }
  return { directives: d, problems }
}

// ---------------------------------------------------------------- the script

function envLines(
  env: Record<string, string> | undefined,
  problems: SlurmProblem[],
  pool: string,
  indent = '',
): string[] {
  return envExportLines(env, problems, pool, 'slurm', indent)
}

export interface RenderOptions {
  /** shell lines from the site and the worker environment (module load, activate, ...) */
  setup?: string[]
}

/** render the complete job script for a job spec */
export function renderJobScript(
  spec: JobSpec,
  site: Pick<SiteConfig, 'slurm'>,
  opts: RenderOptions = {},
): RenderedScript {
  const { directives, problems } = poolDirectives(spec.pool, site)
  const pool = spec.pool.name
  const isArray = spec.tasks.length > 1
  if (spec.tasks.length === 0) {
    problems.push({ code: 'slurm-no-task', severity: 'error', pool, message: 'a job needs at least one task' })
  }
  const jobDirs: Directive[] = []
  const addJob = (flag: string, value: string, source: string) => {
    if (!SAFE_VALUE.test(value)) {
      problems.push({
        code: 'slurm-invalid-path',
        severity: 'error',
        pool,
        message: `${flag} ${JSON.stringify(value)} contains blanks or shell characters; use a run directory path without them`,
      })
      return
    }
    jobDirs.push({ flag, text: `${flag}=${value}`, source })
  }
  addJob('--job-name', spec.jobName, 'strategy')
  const pattern = isArray ? '%A_%a' : '%j'
  addJob('--output', `${spec.logDir}/${spec.jobName}-${pattern}.out`, 'strategy')
  addJob('--error', `${spec.logDir}/${spec.jobName}-${pattern}.err`, 'strategy')
  addJob('--chdir', spec.workDir, 'site.paths.runs')
  if (isArray) {
    const k = spec.arrayParallelism && spec.arrayParallelism > 0 ? `%${Math.floor(spec.arrayParallelism)}` : ''
    addJob('--array', `0-${spec.tasks.length - 1}${k}`, 'stage partitions')
  }
  if (spec.afterOk?.length) {
    addJob('--dependency', `afterok:${spec.afterOk.join(':')}`, 'site.slurm.dependencies')
    jobDirs.push({
      flag: '--kill-on-invalid-dep',
      text: '--kill-on-invalid-dep=yes',
      source: 'site.slurm.dependencies',
    })
  }
  if (spec.comment) addJob('--comment', spec.comment, 'strategy')
  if (spec.timeLimitSeconds && spec.timeLimitSeconds > 0 && !directives.some((d) => d.flag === '--time')) {
    jobDirs.push({
      flag: '--time',
      text: `--time=${formatSlurmTime(spec.timeLimitSeconds)}`,
      source: 'stage timeout + margin',
    })
  }
  const all = [...jobDirs, ...directives]

  const L: string[] = ['#!/bin/bash']
  for (const dir of all) L.push(`#SBATCH ${dir.text}`)
  L.push('#')
  L.push('# Generated by Control Room. Slurm runs this script on the compute node.')
  for (const h of spec.header ?? []) L.push(`# ${h.replace(/[\r\n]+/g, ' ')}`)
  L.push('set -euo pipefail')
  L.push(`cd ${shellQuote(spec.workDir)}`)
  L.push(...envLines(spec.env, problems, pool))
  const setup = opts.setup ?? []
  if (setup.length) {
    L.push('# worker environment setup (site environment.setup); module/activate scripts may read unset variables')
    L.push('set +u')
    for (const s of setup) L.push(s.replace(/[\r\n]+/g, ' '))
    L.push('set -u')
  }
  // a raw token from a login shell would win over the staged BEARER_TOKEN_FILE (WLCG discovery order)
  L.push('unset BEARER_TOKEN')
  L.push('export CONTROLROOM_SLURM_JOB_ID="${SLURM_JOB_ID:-}"')
  // a packed job's tasks each get their identifiers from their own spec (runtime/pack.mjs)
  const taskLines = (t: ScriptTask, indent: string) =>
    t.packed
      ? [`${indent}# ${t.packed.length} tasks packed in this job: ${t.packed.join(' ')}`]
      : [`${indent}export CONTROLROOM_TASK_ID=${shellQuote(t.taskId)}`, ...envLines(t.env, problems, pool, indent)]
  if (!isArray && spec.tasks[0]) {
    const t = spec.tasks[0]
    L.push(...taskLines(t, ''))
    L.push(`exec ${shellJoin(t.argv)}`)
  } else if (isArray) {
    L.push(
      spec.tasks.some((t) => t.packed)
        ? '# one array element per task or pack of tasks: SLURM_ARRAY_TASK_ID selects it'
        : '# one array element per task: SLURM_ARRAY_TASK_ID selects the task',
    )
    L.push('case "${SLURM_ARRAY_TASK_ID:?this script runs as a job array}" in')
    spec.tasks.forEach((t, i) => {
      L.push(`  ${i})`)
      L.push(...taskLines(t, '    '))
      L.push(`    exec ${shellJoin(t.argv)} ;;`)
    })
    L.push('  *) echo "controlroom: no task for array index $SLURM_ARRAY_TASK_ID" >&2; exit 64 ;;')
    L.push('esac')
  }
  return { script: L.join('\n') + '\n', directives: all, problems }
}

// ---------------------------------------------------------------- preview

export interface PreviewOptions {
  /** run id to show (default `<run-id>`-like placeholder `RUN`) */
  runId?: string
  /** the task runtime command prefix (default site.taskCommand or `controlroom task`) */
  taskCommand?: string[]
  /** the complete command of the example task (replaces taskCommand + `--run R --task T`) */
  taskArgv?: string[]
  /** extra variables every task gets (the staged credentials: X509_USER_PROXY, BEARER_TOKEN_FILE) */
  env?: Record<string, string>
  /** extra header lines (worker environment summary, credentials) */
  header?: string[]
  /** directory relative archive paths are resolved against */
  baseDir?: string
}

/**
 * The job script a pool's tasks would be submitted with, before dispatch (the plan panel).
 * Uses the pool's first stage as the example task; a stage with many partitions is shown as an
 * array element in the submitted scripts.
 */
export function renderPoolPreview(
  plan: Pick<ExecutionPlan, 'stages' | 'environment'> & Partial<Pick<ExecutionPlan, 'hash' | 'name'>>,
  pool: PlanPool,
  site: SiteConfig,
  opts: PreviewOptions = {},
): RenderedScript {
  const runId = opts.runId ?? 'RUN'
  const runDir = `${site.paths.runs}/${runId}`
  const stage = plan.stages.find((s) => s.pool === pool.name)
  const taskId = stage ? stage.id : `${pool.name}-task`
  const taskCommand = opts.taskCommand ?? site.taskCommand ?? ['controlroom', 'task']
  const spec: JobSpec = {
    jobName: jobNameFor(site.slurm.jobNamePrefix, runId, pool.name),
    pool,
    workDir: runDir,
    logDir: `${runDir}/slurm`,
    tasks: [{ taskId, argv: opts.taskArgv ?? [...taskCommand, '--run', runId, '--task', taskId] }],
    comment: `controlroom:run=${runId}:pool=${pool.name}`,
    env: { ...site.environment.env, ...opts.env, CONTROLROOM_RUN_ID: runId, CONTROLROOM_RUN_DIR: runDir },
    header: [
      `pool ${pool.name}: ${pool.workers} concurrent job(s) at most; stages ${pool.stages.join(', ') || '(none)'}`,
      ...(plan.hash ? [`plan ${plan.hash.slice(0, 12)}`] : []),
      ...(opts.header ?? []),
      'preview: the run id and task are filled in at dispatch',
    ],
  }
  return renderJobScript(spec, site, { setup: workerSetup(plan.environment, site, { baseDir: opts.baseDir }) })
}

/**
 * Where a packed worker environment (packed-pixi, conda-pack) is unpacked on a Slurm node:
 * node-local scratch ($SLURM_TMPDIR when the site sets it, else $TMPDIR), one directory per job.
 * CONTROLROOM_SCRATCH overrides it (site environment.env).
 */
export const SLURM_ENV_SCRATCH =
  '${CONTROLROOM_SCRATCH:-${SLURM_TMPDIR:-${TMPDIR:-/tmp}}}/controlroom-env.${SLURM_JOB_ID:-$$}'

export interface WorkerSetupOptions {
  /** directory relative archive paths are resolved against (default process.cwd()) */
  baseDir?: string
  /** the environment already rendered by `slurmEnvironmentSetup` (so a caller needing its summary renders it once) */
  rendered?: EnvironmentSetup
}

/** The worker environment as Slurm jobs get it: an archive read from its shared path, unpacked into node scratch. */
export function slurmEnvironmentSetup(
  env: ExecutionPlan['environment'] | Record<string, unknown> | undefined,
  baseDir?: string,
): EnvironmentSetup {
  return renderEnvironmentSetup(env, {
    delivery: 'shared-path',
    scratchDir: SLURM_ENV_SCRATCH,
    ...(baseDir ? { baseDir } : {}),
  })
}

/**
 * The shell lines that prepare the worker environment: the site's setup lines, then
 * shared-fs: the workflow's `setup` lines and `activate` script;
 * packed-pixi / conda-pack: the archive is read from its path on the shared file system, unpacked
 * into the job's scratch directory and activated (environments/, delivery `shared-path`).
 */
export function workerSetup(
  env: ExecutionPlan['environment'] | undefined,
  site: Pick<SiteConfig, 'environment'>,
  opts: WorkerSetupOptions = {},
): string[] {
  const lines = [...site.environment.setup]
  const e = (env ?? { type: 'shared-fs' }) as Record<string, unknown>
  if (e.type === 'packed-pixi' || e.type === 'conda-pack') {
    lines.push(...(opts.rendered ?? slurmEnvironmentSetup(e, opts.baseDir)).lines)
    return lines
  }
  const own = e.setup
  if (typeof own === 'string') lines.push(own)
  else if (Array.isArray(own)) lines.push(...own.map(String))
  if (typeof e.activate === 'string') lines.push(`source ${shellQuote(e.activate)}`)
  return lines
}
