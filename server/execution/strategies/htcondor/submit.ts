/**
 * HTCondor submit descriptions: pure rendering (no I/O) from a plan pool + site config + job
 * spec. The same function renders the preview shown in the plan panel and the file actually
 * given to `condor_submit -terse`, so users see exactly what is submitted.
 *
 * Units (condor_submit manual): `request_memory` is in MiB, `request_disk` in KiB (no suffix),
 * `request_cpus` and `request_gpus` are counts. Sizes are rounded UP so a request is never below
 * what the pool asked for.
 */
import type { ProblemCode } from '../../../workflow/problem-codes.ts'
import type { PlanPool } from '../../../workflow/types.ts'
import type { PoolProblem } from '../../types.ts'
import { JOB_FLAVOURS, type HTCondorSite } from './site.ts'
import { asList, asString } from '../batch/shell.ts'
import { scanOutsideStrings } from './parse.ts'

export interface SubmitCommand {
  /** `request_memory`, `+JobFlavour`, `MY.ControlRoomRun`, ... */
  name: string
  value: string
  /** where it comes from, shown next to it in the preview */
  source: string
}

export interface CondorJobSpec {
  pool: PlanPool
  /** `batch_name` (groups the jobs in condor_q) */
  batchName: string
  /** the job script (absolute path on the submit host) */
  executable: string
  /** `arguments` (new syntax is generated); default `$(ClusterId) $(ProcId)` */
  arguments?: string[]
  /** `initialdir`: the run directory */
  initialDir: string
  /** the job event log (`log`), one per run */
  logFile: string
  /** stdout/stderr paths; may use $(ClusterId) and $(ProcId) */
  output: string
  error: string
  /** `queue N`: N jobs in one cluster, ProcId 0..N-1 */
  count: number
  /** files HTCondor ships with the job (environment archive, bearer token) */
  transferInputFiles?: string[]
  /** the staged X509 proxy (`x509userproxy`) */
  x509userproxy?: string | null
  /** `environment` (static values) */
  environment?: Record<string, string>
  /** `MY.<name> = <value>` job attributes (strings are quoted) for traceability */
  attributes?: Record<string, string | number | boolean>
  /** comment lines at the top */
  header?: string[]
}

export interface RenderedSubmit {
  text: string
  commands: SubmitCommand[]
  problems: PoolProblem[]
}

// ---------------------------------------------------------------- units and quoting

export function bytesToMiB(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / (1024 * 1024)))
}

export function bytesToKiB(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024))
}

/** a ClassAd string literal */
export function classadString(s: string): string {
  // every character that could end the string or the line is escaped: a newline in a value would
  // otherwise start a new submit command (e.g. `executable` or `queue`)
  const escaped = s.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\\') return '\\\\'
    if (c === '"') return '\\"'
    if (c === '\n') return '\\n'
    if (c === '\r') return '\\r'
    if (c === '\t') return '\\t'
    return `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`
  })
  return `"${escaped}"`
}

/**
 * `environment` in the new syntax (condor_submit manual): the whole value in double quotes,
 * entries `name=value` separated by blanks, a value with blanks in single quotes, a literal
 * double quote doubled, a literal single quote doubled inside a single-quoted section.
 */
export function formatEnvironment(env: Record<string, string>): string {
  const parts = Object.entries(env).map(([k, v]) => {
    // a line break cannot be written in a submit file: it is replaced, never passed through
    let val = v.replace(/[\r\n\u0000]/g, ' ').replace(/"/g, '""')
    if (/[\s']/.test(val) || val === '') val = `'${val.replace(/'/g, "''")}'`
    return `${k}=${val}`
  })
  return `"${parts.join(' ')}"`
}

/** `arguments` in the new syntax: double-quoted, blanks separate, single quotes protect blanks */
export function formatArguments(argv: string[]): string {
  const parts = argv.map((a) => {
    let v = a.replace(/"/g, '""')
    if (/[\s']/.test(v) || v === '') v = `'${v.replace(/'/g, "''")}'`
    return v
  })
  return `"${parts.join(' ')}"`
}

// ---------------------------------------------------------------- pool commands

/** commands Control Room sets itself (a pool's `extra` must not change them) */
export const RESERVED_COMMANDS = new Set(
  [
    'executable',
    'arguments',
    'args',
    'log',
    'output',
    'error',
    'input',
    'queue',
    'initialdir',
    'initial_dir',
    'transfer_input_files',
    'x509userproxy',
    'use_x509userproxy',
    'environment',
    'env',
    'batch_name',
    'jobbatchname',
    'should_transfer_files',
    'when_to_transfer_output',
    'transfer_output_files',
    'request_cpus',
    'request_memory',
    'request_gpus',
    'request_disk',
    'log_xml',
    'notification',
    'getenv',
  ].map((s) => s.toLowerCase()),
)

const COMMAND_NAME = /^(\+[A-Za-z_][A-Za-z0-9_]*|MY\.[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_.]*)$/

/** first of several spellings a pool config may use */
function pick(cfg: Record<string, unknown>, keys: string[]): { key: string; value: string } | null {
  for (const k of keys) {
    const v = asString(cfg[k])
    if (v) return { key: k, value: v }
  }
  return null
}

/** a quick sanity check of a ClassAd expression: one line, balanced parentheses and quotes */
export function checkExpression(expr: string): string | null {
  if (/[\r\n]/.test(expr)) return 'must be on one line'
  let depth = 0
  let unopened = false
  const { inString } = scanOutsideStrings(expr, (c) => {
    if (c === '(') depth++
    else if (c === ')' && --depth < 0) unopened = true
    return unopened
  })
  if (unopened) return 'has a ) without ('
  if (inString) return 'has an unterminated string'
  if (depth !== 0) return 'has unbalanced parentheses'
  return null
}

function fmtDuration(s: number): string {
  if (s % 86400 === 0) return `${s / 86400}d`
  if (s % 3600 === 0) return `${s / 3600}h`
  if (s % 60 === 0) return `${s / 60}m`
  return `${s}s`
}

/**
 * The resource and site commands of a pool, with the problems of its config.
 * Pool config keys understood (several spellings): `queue`/`flavour`/`job_flavour`/`JobFlavour`,
 * `requirements`, `accounting_group`/`accountingGroup`, `accounting_group_user`, `universe`,
 * `walltime` (see site `htcondor.walltime`), `extra` (list of `command = value` lines).
 */
export function poolCommands(
  pool: PlanPool,
  site: HTCondorSite,
): { commands: SubmitCommand[]; problems: PoolProblem[] } {
  const commands: SubmitCommand[] = []
  const problems: PoolProblem[] = []
  const cfg = (pool.config ?? {}) as Record<string, unknown>
  const cfgPath = (k: string) => `execution.pools.${pool.name}.config.${k}`
  const err = (code: ProblemCode, message: string, hint?: string, severity: 'error' | 'warning' = 'error') =>
    problems.push({ code, severity, pool: pool.name, message, ...(hint ? { hint } : {}) })
  const add = (name: string, value: string, source: string) => commands.push({ name, value, source })

  add(
    'universe',
    asString(cfg.universe) ?? site.universe,
    asString(cfg.universe) ? 'pool.config.universe' : 'site.htcondor.universe',
  )
  const cpus = Math.max(1, Math.ceil(pool.resources.cpus || 1))
  if (pool.resources.cpus && !Number.isInteger(pool.resources.cpus)) {
    err(
      'htcondor-fractional-cpus',
      `pool ${pool.name} asks for ${pool.resources.cpus} cpus; HTCondor requests whole cpus: request_cpus = ${cpus}`,
      undefined,
      'warning',
    )
  }
  add('request_cpus', String(cpus), 'pool.resources.cpus')
  if (pool.resources.memoryBytes != null && pool.resources.memoryBytes > 0)
    add('request_memory', String(bytesToMiB(pool.resources.memoryBytes)), 'pool.resources.memory (MiB)')
  if (pool.resources.gpus > 0) add('request_gpus', String(Math.ceil(pool.resources.gpus)), 'pool.resources.gpus')
  if (pool.resources.diskBytes != null && pool.resources.diskBytes > 0)
    add('request_disk', String(bytesToKiB(pool.resources.diskBytes)), 'pool.resources.disk (KiB)')

  // +JobFlavour (CERN) : the pool's queue, else the site default
  const flavour = pick(cfg, ['queue', 'flavour', 'job_flavour', 'JobFlavour', 'jobFlavour'])
  let flavourSet = false
  if (flavour) {
    if (!/^[A-Za-z0-9_-]+$/.test(flavour.value))
      err(
        'htcondor-invalid-flavour',
        `job flavour ${JSON.stringify(flavour.value)} must be one word`,
        'e.g. queue: workday',
      )
    else {
      add('+JobFlavour', classadString(flavour.value), `pool.config.${flavour.key}`)
      flavourSet = true
    }
  }

  // +MaxRuntime (seconds): the pool's explicit HTCondor runtime (compiler: `maxruntime: 2h` -> maxruntimeSeconds)
  const mr =
    typeof cfg.maxruntimeSeconds === 'number' && cfg.maxruntimeSeconds > 0 ? Math.ceil(cfg.maxruntimeSeconds) : null
  const mrRaw = cfg.maxruntime
  if (mr !== null)
    add('+MaxRuntime', String(mr), `pool.config.maxruntime${typeof mrRaw === 'string' ? ` ${mrRaw}` : ''}`)
  else if (typeof mrRaw === 'number' && mrRaw > 0)
    add('+MaxRuntime', String(Math.ceil(mrRaw)), 'pool.config.maxruntime (seconds)')
  else if (mrRaw !== undefined)
    err(
      'htcondor-invalid-maxruntime',
      `maxruntime ${JSON.stringify(mrRaw)} of pool ${pool.name} is not a duration`,
      'e.g. maxruntime: 2h (or seconds)',
    )

  // walltime: HTCondor has none (the compiler already refuses it for strategy htcondor); the site decides what to do
  const wSec =
    typeof cfg.walltimeSeconds === 'number' && cfg.walltimeSeconds > 0 ? Math.ceil(cfg.walltimeSeconds) : null
  const wRaw = asString(cfg.walltime ?? cfg.time)
  if (wSec !== null || wRaw !== null) {
    const shown = wRaw ?? fmtDuration(wSec!)
    if (wSec === null) {
      err(
        'htcondor-invalid-walltime',
        `walltime ${JSON.stringify(wRaw)} of pool ${pool.name} is not a duration`,
        'e.g. walltime: 2h or 90m',
      )
    } else
      switch (site.walltime) {
        case 'reject':
          err(
            'htcondor-walltime-unsupported',
            `pool ${pool.name} sets walltime ${shown}, but HTCondor has no walltime option`,
            "use 'maxruntime: 2h' (+MaxRuntime in seconds) or 'queue: workday' (+JobFlavour) in the pool config, or choose in the site file how to translate walltime: htcondor.walltime: maxruntime (+MaxRuntime, CERN/FZU), allowed_execute_duration (HTCondor holds jobs that run longer), jobflavour (smallest CERN +JobFlavour that fits) or ignore",
          )
          break
        case 'maxruntime':
          if (commands.some((c) => c.name === '+MaxRuntime'))
            err(
              'htcondor-walltime-and-maxruntime',
              `pool ${pool.name} sets both maxruntime and walltime; maxruntime is used`,
              undefined,
              'warning',
            )
          else add('+MaxRuntime', String(wSec), `pool.config.walltime ${shown} (site htcondor.walltime: maxruntime)`)
          break
        case 'allowed_execute_duration':
          add(
            'allowed_execute_duration',
            String(wSec),
            `pool.config.walltime ${shown} (site htcondor.walltime: allowed_execute_duration)`,
          )
          break
        case 'jobflavour': {
          const f = JOB_FLAVOURS.find(([, max]) => max >= wSec)
          if (!f)
            err(
              'htcondor-walltime-too-long',
              `walltime ${shown} of pool ${pool.name} is longer than every job flavour (nextweek = 7d)`,
            )
          else if (flavourSet)
            err(
              'htcondor-walltime-and-flavour',
              `pool ${pool.name} sets both a job flavour and a walltime; the flavour is used`,
              undefined,
              'warning',
            )
          else {
            add(
              '+JobFlavour',
              classadString(f[0]),
              `pool.config.walltime ${shown} -> ${f[0]} (<= ${fmtDuration(f[1])}; site htcondor.walltime: jobflavour)`,
            )
            flavourSet = true
          }
          break
        }
        case 'ignore':
          err(
            'htcondor-walltime-ignored',
            `walltime ${shown} of pool ${pool.name} is ignored: HTCondor has no walltime option (site htcondor.walltime: ignore)`,
            undefined,
            'warning',
          )
          break
      }
  }
  if (!flavourSet && site.jobFlavour) add('+JobFlavour', classadString(site.jobFlavour), 'site.htcondor.jobFlavour')

  // requirements: the site's AND the pool's
  const reqs: { expr: string; source: string; key?: string }[] = []
  if (site.requirements) reqs.push({ expr: site.requirements, source: 'site.htcondor.requirements' })
  for (const r of asList(cfg.requirements ?? cfg.constraint))
    reqs.push({ expr: r.trim(), source: 'pool.config.requirements', key: cfgPath('requirements') })
  const okReqs = reqs.filter((r) => {
    const bad = checkExpression(r.expr)
    if (bad)
      err(
        'htcondor-invalid-requirements',
        `requirements ${JSON.stringify(r.expr)} ${bad}`,
        'a ClassAd expression, e.g. (OpSysAndVer == "AlmaLinux9")',
      )
    return !bad && r.expr !== ''
  })
  if (okReqs.length) {
    add(
      'requirements',
      okReqs.length === 1 ? okReqs[0]!.expr : okReqs.map((r) => `(${r.expr})`).join(' && '),
      okReqs.map((r) => r.source).join(' && '),
    )
  }

  const group = pick(cfg, ['accounting_group', 'accountingGroup'])
  if (group) add('accounting_group', group.value, `pool.config.${group.key}`)
  else if (site.accountingGroup) add('accounting_group', site.accountingGroup, 'site.htcondor.accountingGroup')
  const groupUser = pick(cfg, ['accounting_group_user', 'accountingGroupUser'])
  if (groupUser) add('accounting_group_user', groupUser.value, `pool.config.${groupUser.key}`)
  else if (site.accountingGroupUser)
    add('accounting_group_user', site.accountingGroupUser, 'site.htcondor.accountingGroupUser')
  for (const c of commands.filter((c) => c.name.startsWith('accounting_group'))) {
    if (!/^[A-Za-z0-9_.@-]+$/.test(c.value))
      err(
        'htcondor-invalid-accounting-group',
        `${c.name} ${JSON.stringify(c.value)} must be one word (letters, digits, _ . @ -)`,
      )
  }

  // extra commands: site's, then the pool's; validated
  const extras = [
    ...site.extra.map((t) => ({ text: t, source: 'site.htcondor.extra' })),
    ...asList(cfg.extra).map((t) => ({ text: t, source: 'pool.config.extra' })),
  ]
  for (const e of extras) {
    const line = e.text.trim()
    const m = /^([^=\s]+)\s*=\s*(.*)$/.exec(line)
    if (!m || /[\r\n]/.test(line)) {
      err(
        'htcondor-invalid-extra',
        `extra submit command ${JSON.stringify(line)} must look like "command = value" on one line`,
      )
      continue
    }
    const name = m[1]!
    const value = m[2]!.trim()
    if (!COMMAND_NAME.test(name)) {
      err(
        'htcondor-invalid-extra',
        `extra submit command name ${JSON.stringify(name)} is not a valid command (name, +Attr or MY.Attr)`,
      )
      continue
    }
    if (RESERVED_COMMANDS.has(name.toLowerCase()) || /^queue$/i.test(name)) {
      err(
        'htcondor-reserved-extra',
        `extra submit command ${name} is set by Control Room (it tracks jobs by their log, output and resources)`,
        'set resources in the pool, not in extra',
      )
      continue
    }
    if (value === '') {
      err('htcondor-invalid-extra', `extra submit command ${name} has no value`)
      continue
    }
    const existing = commands.findIndex((c) => c.name.toLowerCase() === name.toLowerCase())
    if (existing >= 0) commands.splice(existing, 1)
    add(name, value, e.source)
  }
  return { commands, problems }
}

// ---------------------------------------------------------------- the description

/** render the complete submit description of one cluster */
export function renderSubmitDescription(spec: CondorJobSpec, site: HTCondorSite): RenderedSubmit {
  const { commands: poolCmds, problems } = poolCommands(spec.pool, site)
  const pool = spec.pool.name
  if (spec.count < 1)
    problems.push({
      code: 'htcondor-no-job',
      severity: 'error',
      pool,
      message: 'a cluster needs at least one job (queue 0)',
    })
  const transfer = [...new Set(spec.transferInputFiles ?? [])]
  for (const f of [
    ...transfer,
    spec.executable,
    spec.logFile,
    spec.output,
    spec.error,
    spec.initialDir,
    spec.x509userproxy ?? '',
  ]) {
    if (/[,\r\n"]/.test(f) || /^\s|\s$/.test(f)) {
      problems.push({
        code: 'htcondor-invalid-path',
        severity: 'error',
        pool,
        message: `path ${JSON.stringify(f)} contains a comma, quote, newline or edge blank, which submit files cannot carry`,
        hint: 'use a run directory path without them',
      })
    }
  }
  const names = new Map<string, number>()
  for (const f of transfer) names.set(f.split('/').pop()!, (names.get(f.split('/').pop()!) ?? 0) + 1)
  for (const [n, c] of names) {
    if (c > 1)
      problems.push({
        code: 'htcondor-duplicate-transfer-name',
        severity: 'error',
        pool,
        message: `${c} input files are named ${n}: HTCondor transfers files by name into one directory`,
      })
  }

  const shouldTransfer = site.shouldTransferFiles ?? (transfer.length ? 'YES' : 'IF_NEEDED')
  if (shouldTransfer === 'NO' && transfer.length) {
    problems.push({
      code: 'htcondor-transfer-disabled',
      severity: 'warning',
      pool,
      message: `site htcondor.shouldTransferFiles is NO but ${transfer.length} file(s) must reach the job (environment archive / token); they are read from the shared file system instead`,
    })
  }
  const job: SubmitCommand[] = []
  const addJob = (name: string, value: string, source: string) => job.push({ name, value, source })
  addJob('executable', spec.executable, 'strategy (job script)')
  addJob('arguments', formatArguments(spec.arguments ?? ['$(ClusterId)', '$(ProcId)']), 'strategy')
  addJob('initialdir', spec.initialDir, 'run directory')
  addJob('log', spec.logFile, 'strategy (job event log)')
  addJob('output', spec.output, 'strategy')
  addJob('error', spec.error, 'strategy')
  addJob('batch_name', spec.batchName, 'strategy')
  addJob(
    'should_transfer_files',
    shouldTransfer,
    site.shouldTransferFiles ? 'site.htcondor.shouldTransferFiles' : 'strategy',
  )
  if (shouldTransfer !== 'NO') {
    addJob('when_to_transfer_output', 'ON_EXIT', 'strategy')
    // outputs are written to the run directory by the task runtime: ship nothing back
    addJob('transfer_output_files', '""', 'strategy (outputs go to the run directory)')
    if (transfer.length) addJob('transfer_input_files', transfer.join(','), 'worker environment / credentials')
  }
  if (spec.x509userproxy) addJob('x509userproxy', spec.x509userproxy, 'credentials (staged X509 proxy)')
  if (site.oauthServices.length)
    addJob('use_oauth_services', site.oauthServices.join(','), 'site.htcondor.oauthServices (tokens from the credmon)')
  if (spec.environment && Object.keys(spec.environment).length) {
    for (const k of Object.keys(spec.environment)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
        problems.push({
          code: 'htcondor-invalid-env',
          severity: 'error',
          pool,
          message: `invalid environment variable name ${JSON.stringify(k)}`,
        })
    }
    addJob('environment', formatEnvironment(spec.environment), 'strategy')
  }
  for (const [k, v] of Object.entries(spec.attributes ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) continue
    addJob(`MY.${k}`, typeof v === 'string' ? classadString(v) : String(v), 'strategy (traceability)')
  }
  const all = [...job, ...poolCmds]
  // the last guard: one command per line, whatever a value carries
  for (const c of all) {
    if (/[\r\n\u0000]/.test(c.value) || /[\r\n\u0000]/.test(c.name))
      problems.push({
        code: 'htcondor-control-character',
        severity: 'error',
        pool,
        message: `submit command ${JSON.stringify(c.name)} has a line break or NUL in its value ${JSON.stringify(c.value)}`,
        hint: 'remove control characters from stage ids, pool names and config values',
      })
  }
  const width = Math.max(...all.map((c) => c.name.length), 23)
  const L: string[] = ['# Generated by Control Room: submitted with condor_submit -terse.']
  for (const h of spec.header ?? []) L.push(`# ${h.replace(/[\r\n]+/g, ' ')}`)
  for (const c of all) L.push(`${c.name.padEnd(width)} = ${c.value}`)
  L.push(`queue ${Math.max(0, Math.floor(spec.count))}`)
  return { text: L.join('\n') + '\n', commands: all, problems }
}
