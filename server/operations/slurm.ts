/**
 * The Slurm cluster as `sinfo` and `squeue` show it: partitions with their nodes by state
 * (idle / mixed / allocated / down), and the pending jobs with the scheduler's reason explained.
 * Parsing and summing are pure (tested on the real tools' output); `readSlurmCluster` runs the
 * two commands through the site's transport (this host or the ssh login node).
 */
import type { SiteConfig } from '../site/schema.ts'
import { SlurmClient } from '../execution/strategies/slurm/client.ts'
import { parseSinfo, type SlurmNode } from '../execution/strategies/slurm/preflight.ts'
import { reasonText } from '../execution/strategies/slurm/status.ts'
import { createTransport } from '../execution/transport/index.ts'
import type { CommandTransport } from '../execution/transport/types.ts'
import type { Machine } from './fit.ts'

export interface SlurmPartitionView {
  name: string
  isDefault: boolean
  available: string
  nodes: number
  idle: number
  mixed: number
  allocated: number
  other: number
  cpus: number
  memoryMiB: number
  gpus: number
  /** e.g. ["gpu", "highmem"] */
  features: string[]
}

export interface SlurmPendingJob {
  jobId: string
  name: string
  user: string
  partition: string
  /** the raw reason code, e.g. Resources */
  reason: string
  /** the reason explained (server/execution/strategies/slurm/status.ts) */
  reasonText: string
  cpus: number
  memory: string
  submitted: string | null
}

/** squeue output format of `pendingJobs`: id|name|user|partition|reason|cpus|min memory|submit time */
export const PENDING_FORMAT = '%i|%j|%u|%P|%r|%C|%m|%V'

const IDLE = /^idle/
const MIXED = /^mix/
const ALLOCATED = /^(alloc|completing)/

/** per partition: nodes by state, totals (from `sinfo -N`, one row per node and partition) */
export function summarisePartitions(text: string): SlurmPartitionView[] {
  const info = parseSinfo(text)
  return info.partitions.map((name) => {
    const nodes = info.nodes.filter((n) => n.partition === name)
    const count = (re: RegExp) => nodes.filter((n) => re.test(n.state)).length
    const idle = count(IDLE)
    const mixed = count(MIXED)
    const allocated = count(ALLOCATED)
    return {
      name,
      isDefault: info.defaultPartition === name,
      available: nodes[0]?.partitionAvail ?? 'up',
      nodes: nodes.length,
      idle,
      mixed,
      allocated,
      other: nodes.length - idle - mixed - allocated,
      cpus: nodes.reduce((s, n) => s + n.cpus, 0),
      memoryMiB: nodes.reduce((s, n) => s + n.memoryMB, 0),
      gpus: nodes.reduce((s, n) => s + (n.gres.gpu?.[''] ?? 0), 0),
      features: [...new Set(nodes.flatMap((n) => n.features))].sort(),
    }
  })
}

/** sinfo nodes as machines for the pool fit (one per node and partition) */
export function slurmMachines(text: string): Machine[] {
  return parseSinfo(text).nodes.map((n: SlurmNode) => ({
    name: n.name,
    group: n.partition,
    cpus: n.cpus,
    memoryMiB: n.memoryMB,
    gpus: n.gres.gpu?.[''] ?? 0,
    idle: IDLE.test(n.state) || MIXED.test(n.state),
    usable: n.partitionAvail === 'up' && !/^(down|drain|fail|future|inval|maint|power|unknown|not_resp)/.test(n.state),
  }))
}

/** parse `squeue -h -t PENDING -o PENDING_FORMAT` */
export function parsePendingJobs(text: string): SlurmPendingJob[] {
  const out: SlurmPendingJob[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const [jobId, name, user, partition, reason, cpus, memory, submitted] = line.split('|')
    if (!jobId) continue
    const raw = (reason ?? '').replace(/^\(|\)$/g, '')
    out.push({
      jobId,
      name: name ?? '',
      user: user ?? '',
      partition: partition ?? '',
      reason: raw,
      reasonText: reasonText(raw) ?? raw,
      cpus: Number(cpus) || 0,
      memory: memory ?? '',
      submitted: submitted && submitted !== 'N/A' ? submitted : null,
    })
  }
  return out
}

export interface SlurmClusterView {
  partitions: SlurmPartitionView[]
  pending: SlurmPendingJob[]
  /** for the pool fit */
  machines: Machine[]
  /** the site's default partition (site slurm.partition), else Slurm's */
  defaultPartition: string | null
}

/** one sinfo and one squeue through the site's transport */
export async function readSlurmCluster(site: SiteConfig, transport?: CommandTransport): Promise<SlurmClusterView> {
  const client = new SlurmClient(transport ?? createTransport(site), {
    binDir: site.slurm.binDir,
    env: site.slurm.env,
    timeoutMs: 15_000,
  })
  const sinfo = await client.sinfo()
  const q = await client.run('squeue', ['-h', '-t', 'PENDING', '-o', PENDING_FORMAT])
  if (q.code !== 0) throw new Error(`squeue failed (exit ${q.code}): ${(q.stderr || q.stdout).trim()}`)
  return {
    partitions: summarisePartitions(sinfo),
    pending: parsePendingJobs(q.stdout).slice(0, 200),
    machines: slurmMachines(sinfo),
    defaultPartition: site.slurm.partition ?? parseSinfo(sinfo).defaultPartition,
  }
}
