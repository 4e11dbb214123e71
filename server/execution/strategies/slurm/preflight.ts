/**
 * Preflight: before anything is submitted, check every pool's request against the cluster
 * (one `sinfo` call): the partition exists and is up, some node of it has the cpus, memory,
 * GPUs (gres), tmp disk and features, and the time limit fits. An impossible request is refused
 * at the pool with the reason, instead of becoming a job that pends forever.
 * Also maps sbatch's error messages onto the same problems (errors found at submission).
 */
import type { ProblemCode } from '../../../workflow/problem-codes.ts'
import type { PlanPool } from '../../../workflow/types.ts'
import type { SiteConfig } from '../../../site/schema.ts'
import { bytesToSlurmMB, parseSlurmTime, poolDirectives, type SlurmProblem } from './script.ts'

export interface SlurmNode {
  name: string
  partition: string
  partitionAvail: string
  /** seconds, null = unlimited */
  partitionMaxTime: number | null
  cpus: number
  memoryMB: number
  /** gres name -> { type -> count } ('' = untyped total) */
  gres: Record<string, Record<string, number>>
  features: string[]
  state: string
  tmpDiskMB: number
}

export interface ClusterInfo {
  nodes: SlurmNode[]
  partitions: string[]
  defaultPartition: string | null
}

/** parse a gres string like `gpu:1`, `gpu:a100:4(S:0-1),mps:100` */
export function parseGres(s: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {}
  if (!s || s === '(null)') return out
  for (const raw of s.split(/,(?![^(]*\))/)) {
    const item = raw.replace(/\(.*\)$/, '').trim()
    if (!item) continue
    const parts = item.split(':')
    const name = parts[0]!
    let type = ''
    let count = 1
    if (parts.length === 2) {
      if (/^\d+[KMG]?$/.test(parts[1]!)) count = parseCount(parts[1]!)
      else type = parts[1]!
    } else if (parts.length >= 3) {
      type = parts[1]!
      count = parseCount(parts[2]!)
    }
    out[name] ??= {}
    out[name]![type] = (out[name]![type] ?? 0) + count
    if (type) out[name]![''] = (out[name]![''] ?? 0) + count
  }
  return out
}

function parseCount(s: string): number {
  const m = /^(\d+)([KMG]?)$/.exec(s)
  if (!m) return 0
  return Number(m[1]) * ({ '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2]!]!
}

/** parse the output of `sinfo -h -N -o SINFO_FORMAT` */
export function parseSinfo(text: string): ClusterInfo {
  const nodes: SlurmNode[] = []
  const partitions: string[] = []
  let defaultPartition: string | null = null
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const [name, partRaw, avail, limit, cpus, mem, gres, features, state, tmp] = line.split('|')
    if (!name || !partRaw) continue
    const isDefault = partRaw.endsWith('*')
    const partition = partRaw.replace(/\*$/, '')
    if (isDefault) defaultPartition = partition
    if (!partitions.includes(partition)) partitions.push(partition)
    nodes.push({
      name,
      partition,
      partitionAvail: avail ?? 'up',
      partitionMaxTime: limit ? parseSlurmTime(limit) : null,
      cpus: Number(cpus) || 0,
      memoryMB: Number(String(mem).replace(/\+$/, '')) || 0,
      gres: parseGres(gres ?? ''),
      features: features && features !== '(null)' ? features.split(',') : [],
      state: (state ?? '').toLowerCase(),
      tmpDiskMB: Number(tmp) || 0,
    })
  }
  return { nodes, partitions, defaultPartition }
}

const UNUSABLE_NODE_STATES =
  /^(down|drain|drained|fail|failing|future|inval|maint|power_down|powered_down|unknown|not_responding)/

function featureNames(constraint: string): string[] {
  // `gpu&highmem`, `a|b`, `[rack1|rack2]`, `intel*2`: keep the names
  return constraint
    .split(/[&|,[\]()]/)
    .map((s) => s.replace(/\*\d+$/, '').trim())
    .filter(Boolean)
}

/** the pool's effective request, as sbatch would see it */
export function poolRequest(pool: PlanPool, site: Pick<SiteConfig, 'slurm'>) {
  const { directives, problems } = poolDirectives(pool, site)
  const get = (flag: string) =>
    directives
      .find((d) => d.flag === flag)
      ?.text.split('=')
      .slice(1)
      .join('=') ?? null
  const gres = get('--gres')
  const gm = gres ? /^gpu:(?:([^:]+):)?(\d+)$/.exec(gres) : null
  return {
    partition: get('--partition'),
    cpus: Number(get('--cpus-per-task') ?? 1),
    memoryMB: pool.resources.memoryBytes ? bytesToSlurmMB(pool.resources.memoryBytes) : null,
    gpus: gm ? Number(gm[2]) : 0,
    gpuType: gm?.[1] ?? null,
    tmpMB: pool.resources.diskBytes ? bytesToSlurmMB(pool.resources.diskBytes) : null,
    constraint: get('--constraint'),
    timeSeconds: get('--time') ? parseSlurmTime(get('--time')!) : null,
    problems,
  }
}

/** check pools against the cluster; returns problems (errors refuse the dispatch) */
export function preflightPools(
  pools: PlanPool[],
  site: Pick<SiteConfig, 'slurm'>,
  cluster: ClusterInfo,
): SlurmProblem[] {
  const problems: SlurmProblem[] = []
  for (const pool of pools) {
    const req = poolRequest(pool, site)
    problems.push(...req.problems)
    const partition = req.partition ?? cluster.defaultPartition
    const cfgPath = `execution.pools.${pool.name}.config.partition`
    if (!partition) {
      problems.push({
        code: 'slurm-no-partition',
        severity: 'error',
        pool: pool.name,
        message: `pool ${pool.name} names no partition and the cluster has no default partition`,
        hint: `set config.partition (partitions: ${cluster.partitions.join(', ')}) or site slurm.partition`,
        path: cfgPath,
      })
      continue
    }
    if (!cluster.partitions.includes(partition)) {
      problems.push(invalidPartition(pool.name, partition, cluster.partitions, cfgPath))
      continue
    }
    const nodes = cluster.nodes.filter((n) => n.partition === partition)
    const avail = nodes[0]?.partitionAvail ?? 'up'
    if (avail !== 'up') {
      problems.push({
        code: 'slurm-partition-unavailable',
        severity: 'warning',
        pool: pool.name,
        message: `partition ${partition} is ${avail}: jobs of pool ${pool.name} will pend until it is up`,
      })
    }
    const maxTime = nodes[0]?.partitionMaxTime ?? null
    if (req.timeSeconds && maxTime && req.timeSeconds > maxTime) {
      problems.push({
        code: 'slurm-time-over-limit',
        severity: 'error',
        pool: pool.name,
        message: `pool ${pool.name} asks for a time limit of ${req.timeSeconds} s but partition ${partition} allows at most ${maxTime} s`,
        hint: 'lower config.walltime or choose another partition',
        path: `execution.pools.${pool.name}.config.walltime`,
      })
    }
    // does any node of the partition satisfy every part of the request?
    const why: string[] = []
    const fits = nodes.filter((n) => {
      const lacks: string[] = []
      if (n.cpus < req.cpus) lacks.push(`${req.cpus} cpus (has ${n.cpus})`)
      if (req.memoryMB !== null && n.memoryMB < req.memoryMB)
        lacks.push(`${req.memoryMB} MB memory (has ${n.memoryMB} MB)`)
      if (req.gpus > 0) {
        const have = n.gres.gpu?.[req.gpuType ?? ''] ?? 0
        if (have < req.gpus) lacks.push(`${req.gpus} ${req.gpuType ? `${req.gpuType} ` : ''}GPU(s) (has ${have})`)
      }
      if (req.tmpMB !== null && n.tmpDiskMB < req.tmpMB) lacks.push(`${req.tmpMB} MB tmp disk (has ${n.tmpDiskMB} MB)`)
      if (req.constraint) {
        const missing = featureNames(req.constraint).filter((f) => !n.features.includes(f))
        // with `|` alternatives, one present feature is enough
        const anyOf = /[|]/.test(req.constraint)
        if (anyOf ? missing.length === featureNames(req.constraint).length : missing.length)
          lacks.push(`features ${missing.join(', ')} (has ${n.features.join(', ') || 'none'})`)
      }
      if (lacks.length) why.push(`${n.name}: lacks ${lacks.join(', ')}`)
      return lacks.length === 0
    })
    if (fits.length === 0) {
      const desc = describeRequest(req)
      problems.push({
        code: 'slurm-impossible-request',
        severity: 'error',
        pool: pool.name,
        message: `no node in partition ${partition} can run pool ${pool.name} (${desc}): ${why.slice(0, 5).join('; ')}${why.length > 5 ? `; and ${why.length - 5} more nodes` : ''}`,
        hint: `lower the pool's resources or choose another partition (${cluster.partitions.join(', ')})`,
        path: `execution.pools.${pool.name}.resources`,
      })
      continue
    }
    if (fits.every((n) => UNUSABLE_NODE_STATES.test(n.state))) {
      problems.push({
        code: 'slurm-nodes-unavailable',
        severity: 'warning',
        pool: pool.name,
        message: `every node of partition ${partition} that fits pool ${pool.name} is ${[...new Set(fits.map((n) => n.state))].join('/')}: jobs will pend`,
      })
    }
  }
  return problems
}

function describeRequest(req: ReturnType<typeof poolRequest>): string {
  const parts = [`${req.cpus} cpu${req.cpus === 1 ? '' : 's'}`]
  if (req.memoryMB !== null) parts.push(`${req.memoryMB} MB`)
  if (req.gpus) parts.push(`gres gpu:${req.gpuType ? `${req.gpuType}:` : ''}${req.gpus}`)
  if (req.tmpMB !== null) parts.push(`${req.tmpMB} MB tmp`)
  if (req.constraint) parts.push(`constraint ${req.constraint}`)
  return parts.join(', ')
}

function invalidPartition(pool: string, partition: string, known: string[], path?: string): SlurmProblem {
  return {
    code: 'slurm-invalid-partition',
    severity: 'error',
    pool,
    message: `partition "${partition}" does not exist on this cluster (pool ${pool})`,
    hint: known.length ? `partitions: ${known.join(', ')}` : 'sinfo lists no partition',
    ...(path ? { path } : {}),
  }
}

/**
 * Map sbatch's stderr onto a problem at the pool. `partitions` (from sinfo) makes the hints
 * concrete. `retryable` errors (controller unreachable, submit limits) may succeed later.
 */
export function mapSbatchError(
  stderr: string,
  pool: string,
  ctx: { partitions?: string[]; features?: string[]; partition?: string | null; code?: number } = {},
): SlurmProblem & { retryable: boolean } {
  const text = stderr.trim()
  const last = text.split('\n').filter(Boolean).slice(-1)[0] ?? `sbatch exited with ${ctx.code ?? '?'}`
  const mk = (code: ProblemCode, message: string, hint?: string, retryable = false) => ({
    code,
    severity: 'error' as const,
    pool,
    message,
    ...(hint ? { hint } : {}),
    retryable,
  })
  if (/Invalid partition name specified|invalid partition specified/i.test(text)) {
    const named = /invalid partition specified: (\S+)/i.exec(text)?.[1] ?? ctx.partition ?? '?'
    return {
      ...invalidPartition(pool, named, ctx.partitions ?? []),
      message: `sbatch refused pool ${pool}: partition "${named}" does not exist (${last})`,
      retryable: false,
    }
  }
  if (/Invalid feature specification/i.test(text))
    return mk(
      'slurm-invalid-constraint',
      `sbatch refused pool ${pool}: ${last}`,
      ctx.features?.length ? `node features: ${ctx.features.join(', ')}` : 'check config.constraint',
    )
  if (/Memory specification can not be satisfied/i.test(text))
    return mk(
      'slurm-impossible-memory',
      `sbatch refused pool ${pool}: no node has that much memory (${last})`,
      'lower resources.memory',
    )
  if (/Requested node configuration is not available/i.test(text))
    return mk(
      'slurm-impossible-request',
      `sbatch refused pool ${pool}: no node has the requested cpus, memory or gres (${last})`,
      'lower the pool resources or choose another partition',
    )
  if (/Invalid generic resource \(gres\) specification/i.test(text))
    return mk(
      'slurm-invalid-gres',
      `sbatch refused pool ${pool}: ${last}`,
      'the cluster does not know this gres (gpus / gpu_type)',
    )
  if (/Invalid account|account\/partition combination/i.test(text))
    return mk(
      'slurm-invalid-account',
      `sbatch refused pool ${pool}: ${last}`,
      'check config.account / site slurm.account (sacctmgr show assoc user=$USER)',
    )
  if (/Invalid qos specification/i.test(text))
    return mk('slurm-invalid-qos', `sbatch refused pool ${pool}: ${last}`, 'check config.qos / site slurm.qos')
  if (/Requested time limit is invalid|Invalid --time specification/i.test(text))
    return mk(
      'slurm-invalid-time',
      `sbatch refused pool ${pool}: ${last}`,
      'check config.walltime against the partition limit',
    )
  if (/unrecognized option|invalid option/i.test(text))
    return mk('slurm-invalid-option', `sbatch refused pool ${pool}: ${last}`, 'check config.extra')
  if (/MaxSubmit|submit limit|AssocMaxSubmitJobLimit|QOSMaxSubmitJob/i.test(text))
    return mk(
      'slurm-submit-limit',
      `sbatch refused pool ${pool}: submit limit reached (${last})`,
      'lower pool.workers',
      true,
    )
  if (/violates accounting\/QOS policy/i.test(text))
    return mk('slurm-policy', `sbatch refused pool ${pool}: ${last}`, 'the account/QOS limits forbid this request')
  if (
    /Unable to contact slurm controller|Socket timed out|Zero Bytes were transmitted|Connection refused|slurm_persist_conn|Resource temporarily unavailable|Slurm temporarily unable/i.test(
      text,
    )
  )
    return mk(
      'slurm-unreachable',
      `Slurm controller unreachable while submitting pool ${pool}: ${last}`,
      undefined,
      true,
    )
  if (ctx.code === 255 || /ssh:|Permission denied \(publickey|Host key verification failed/i.test(text))
    return mk(
      'transport-failed',
      `could not reach the login node to submit pool ${pool}: ${last}`,
      'check the site ssh settings',
      true,
    )
  if (ctx.code === 127 || /command not found|No such file or directory.*sbatch/i.test(text))
    return mk('slurm-not-found', `sbatch was not found (${last})`, 'install the Slurm client or set site slurm.binDir')
  return mk('slurm-submit-failed', `sbatch refused pool ${pool}: ${last}`)
}
