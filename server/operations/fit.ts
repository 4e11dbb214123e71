/**
 * Which part of a cluster can give a pool what it asks for. Pure: the pool's request and the
 * machines a batch system reports in, one sentence out, e.g.
 *
 *   high_memory needs 2 × 64 GB: 1 node of partition highmem can give it
 *
 * A "machine" is a Slurm node of one partition or an HTCondor slot (a partitionable slot is the
 * machine share it can be carved into). Workers are packed onto machines as sbatch/condor would:
 * each needs its cpus, memory and GPUs on ONE machine; a machine hosts as many workers as its
 * scarcest resource allows. The count given is the fewest machines that host every worker at once,
 * biggest machines first, and how many of them are idle now.
 */
import { formatMiB } from '../format.ts'

export interface PoolNeed {
  pool: string
  /** the workflow(s) that ask for it */
  workflows: string[]
  workers: number
  cpus: number
  /** MiB, null = not asked (the batch system's default) */
  memoryMiB: number | null
  gpus: number
  /** Slurm: the partition the pool goes to (pool config, site pool defaults, site default); null = default partition */
  partition: string | null
}

export interface Machine {
  name: string
  /** Slurm partition; HTCondor: null */
  group: string | null
  cpus: number
  memoryMiB: number
  gpus: number
  /** free for new work now (Slurm: idle or mixed; HTCondor: Unclaimed) */
  idle: boolean
  /** usable at all (not down, drained, ...) */
  usable: boolean
}

export type FitVerdict = 'fits' | 'partly' | 'none' | 'no-such-partition'

export interface PoolFit {
  pool: string
  workflows: string[]
  verdict: FitVerdict
  /** fewest machines that host every worker at once (fits), or the machines that can host one (partly) */
  machines: number
  /** of those, idle now */
  idleMachines: number
  /** workers that fit at once on the whole group */
  concurrentWorkers: number
  group: string | null
  sentence: string
}

/** the request of ONE worker, as a short phrase: "64 GB", "4 CPUs, 64 GB", "1 GPU, 16 GB" */
export function describeRequest(need: Pick<PoolNeed, 'cpus' | 'memoryMiB' | 'gpus'>): string {
  const parts: string[] = []
  if (need.gpus > 0) parts.push(`${need.gpus} GPU${need.gpus === 1 ? '' : 's'}`)
  if (need.cpus > 1 || (need.gpus === 0 && !need.memoryMiB)) parts.push(`${need.cpus} CPU${need.cpus === 1 ? '' : 's'}`)
  if (need.memoryMiB) parts.push(formatMiB(need.memoryMiB))
  return parts.join(', ')
}

/** how many workers of `need` one machine hosts at once */
export function workersPerMachine(m: Machine, need: Pick<PoolNeed, 'cpus' | 'memoryMiB' | 'gpus'>): number {
  if (!m.usable) return 0
  const byCpu = Math.floor(m.cpus / Math.max(1, need.cpus))
  const byMem = need.memoryMiB ? Math.floor(m.memoryMiB / need.memoryMiB) : Number.POSITIVE_INFINITY
  const byGpu = need.gpus > 0 ? Math.floor(m.gpus / need.gpus) : Number.POSITIVE_INFINITY
  return Math.max(0, Math.min(byCpu, byMem, byGpu))
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/**
 * Fit a pool onto machines. `where` names the group in the sentence ("partition highmem",
 * "the HTCondor pool"); machines of other groups are ignored when the need names a group.
 */
export function fitPool(need: PoolNeed, machines: Machine[], where: { kind: 'slurm' | 'htcondor' | 'host' }): PoolFit {
  const group = where.kind === 'slurm' ? need.partition : null
  const pool = machines.filter((m) => group === null || m.group === group)
  const label =
    where.kind === 'slurm'
      ? `partition ${group ?? pool[0]?.group ?? '(default)'}`
      : where.kind === 'htcondor'
        ? 'the HTCondor pool'
        : 'this host'
  const head = `${need.pool} needs ${need.workers} × ${describeRequest(need)}`
  const base = { pool: need.pool, workflows: need.workflows, group }
  if (where.kind === 'slurm' && group !== null && pool.length === 0) {
    const known = [...new Set(machines.map((m) => m.group).filter((g): g is string => g !== null))]
    return {
      ...base,
      verdict: 'no-such-partition',
      machines: 0,
      idleMachines: 0,
      concurrentWorkers: 0,
      sentence: `${head}: Slurm has no partition ${group} (partitions: ${known.join(', ') || 'none'})`,
    }
  }
  const unit = where.kind === 'slurm' ? 'node' : where.kind === 'htcondor' ? 'slot' : 'host'
  const hosting = pool
    .map((m) => ({ m, n: workersPerMachine(m, need) }))
    .filter((x) => x.n > 0)
    .sort((a, b) => b.n - a.n || Number(b.m.idle) - Number(a.m.idle))
  const concurrent = hosting.reduce((s, x) => s + x.n, 0)
  if (hosting.length === 0) {
    const largest = pool.filter((m) => m.usable)
    const big = largest.length
      ? `the largest ${unit} has ${largest.reduce((a, m) => Math.max(a, m.cpus), 0)} CPUs, ${formatMiB(largest.reduce((a, m) => Math.max(a, m.memoryMiB), 0))}, ${largest.reduce((a, m) => Math.max(a, m.gpus), 0)} GPUs`
      : `no usable ${unit}`
    return {
      ...base,
      verdict: 'none',
      machines: 0,
      idleMachines: 0,
      concurrentWorkers: 0,
      sentence:
        where.kind === 'host'
          ? `${head}: this host cannot give one worker (${big.replace('the largest host', 'it')})`
          : `${head}: no ${unit} of ${label} can give one worker (${big})`,
    }
  }
  if (concurrent < need.workers) {
    const idle = hosting.filter((x) => x.m.idle).length
    return {
      ...base,
      verdict: 'partly',
      machines: hosting.length,
      idleMachines: idle,
      concurrentWorkers: concurrent,
      sentence: `${head}: ${where.kind === 'host' ? 'this host' : `${plural(hosting.length, `${unit}`)} of ${label}`} can give ${concurrent} at once; the other ${need.workers - concurrent} wait in the queue`,
    }
  }
  // fewest machines, biggest first
  let left = need.workers
  const used: Machine[] = []
  for (const x of hosting) {
    if (left <= 0) break
    used.push(x.m)
    left -= x.n
  }
  const idle = used.filter((m) => m.idle).length
  const idleNote = idle === used.length ? '' : ` (${idle} of them idle now)`
  return {
    ...base,
    verdict: 'fits',
    machines: used.length,
    idleMachines: idle,
    concurrentWorkers: concurrent,
    sentence: `${head}: ${where.kind === 'host' ? 'this host' : `${plural(used.length, unit)} of ${label}`} can give it${idleNote}`,
  }
}
