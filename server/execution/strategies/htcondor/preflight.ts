/**
 * Before dispatch: can any slot of the HTCondor pool host a pool's request (cpus, memory, gpus,
 * disk TOGETHER)? Reads `condor_status -json` (slot ClassAds: Cpus, Memory in MiB, Disk in KiB,
 * GPUs; partitionable slots also TotalSlotCpus/TotalSlotMemory/TotalSlotDisk/TotalSlotGPUs, the
 * whole machine they can be carved from). A request no slot can ever satisfy is an error at the
 * pool, not a job that stays idle forever. The pool's `requirements` are not evaluated here (no
 * ClassAd evaluator): the schedd's own matchmaking still applies.
 * An empty pool (glideins / autoscaling not yet up) gives a warning, not an error.
 */
import type { PlanPool } from '../../../workflow/types.ts'
import type { PoolProblem } from '../../types.ts'
import { num, type ClassAd } from './parse.ts'
import { bytesToKiB, bytesToMiB } from './submit.ts'

export const SLOT_ATTRIBUTES = [
  'Name',
  'Machine',
  'SlotType',
  'PartitionableSlot',
  'Cpus',
  'Memory',
  'Disk',
  'GPUs',
  'TotalSlotCpus',
  'TotalSlotMemory',
  'TotalSlotDisk',
  'TotalSlotGPUs',
  'State',
]

export interface SlotCapacity {
  name: string
  cpus: number
  memoryMiB: number
  diskKiB: number
  gpus: number
}

/** the most a slot can give a job (a partitionable slot: its whole machine share) */
export function slotCapacities(ads: ClassAd[]): SlotCapacity[] {
  return ads.map((ad) => ({
    name: typeof ad.Name === 'string' ? ad.Name : '?',
    cpus: num(ad.TotalSlotCpus) ?? num(ad.Cpus) ?? 0,
    memoryMiB: num(ad.TotalSlotMemory) ?? num(ad.Memory) ?? 0,
    diskKiB: num(ad.TotalSlotDisk) ?? num(ad.Disk) ?? 0,
    gpus: num(ad.TotalSlotGPUs) ?? num(ad.GPUs) ?? 0,
  }))
}

function gib(mib: number): string {
  return mib >= 1024 ? `${Math.round((mib / 1024) * 10) / 10} GiB` : `${mib} MiB`
}

/** problems of the pools against the slots */
export function preflightSlots(pools: PlanPool[], slots: SlotCapacity[]): PoolProblem[] {
  if (slots.length === 0) {
    return [
      {
        code: 'htcondor-no-slots',
        severity: 'warning',
        pool: null,
        message: 'condor_status shows no slot: the pool may scale up later (glideins), but nothing can run now',
      },
    ]
  }
  const out: PoolProblem[] = []
  const max = {
    cpus: Math.max(...slots.map((s) => s.cpus)),
    memoryMiB: Math.max(...slots.map((s) => s.memoryMiB)),
    diskKiB: Math.max(...slots.map((s) => s.diskKiB)),
    gpus: Math.max(...slots.map((s) => s.gpus)),
  }
  for (const pool of pools) {
    const need = {
      cpus: Math.max(1, Math.ceil(pool.resources.cpus || 1)),
      memoryMiB: pool.resources.memoryBytes ? bytesToMiB(pool.resources.memoryBytes) : 0,
      diskKiB: pool.resources.diskBytes ? bytesToKiB(pool.resources.diskBytes) : 0,
      gpus: Math.ceil(pool.resources.gpus || 0),
    }
    const fits = slots.some(
      (s) => s.cpus >= need.cpus && s.memoryMiB >= need.memoryMiB && s.diskKiB >= need.diskKiB && s.gpus >= need.gpus,
    )
    if (fits) continue
    const asks = [
      `${need.cpus} cpu(s)`,
      ...(need.memoryMiB ? [`${gib(need.memoryMiB)} memory`] : []),
      ...(need.gpus ? [`${need.gpus} GPU(s)`] : []),
      ...(need.diskKiB ? [`${gib(Math.ceil(need.diskKiB / 1024))} disk`] : []),
    ]
    const short: string[] = []
    if (need.cpus > max.cpus) short.push(`at most ${max.cpus} cpus`)
    if (need.memoryMiB > max.memoryMiB) short.push(`at most ${gib(max.memoryMiB)} memory`)
    if (need.gpus > max.gpus) short.push(`at most ${max.gpus} GPU(s)`)
    if (need.diskKiB > max.diskKiB) short.push(`at most ${gib(Math.ceil(max.diskKiB / 1024))} disk`)
    out.push({
      code: 'htcondor-impossible-request',
      severity: 'error',
      pool: pool.name,
      message: `no slot of the HTCondor pool can host pool ${pool.name} (${asks.join(', ')}): ${short.length ? `the slots offer ${short.join(', ')}` : 'no single slot has all of it together'} (${slots.length} slot(s) seen by condor_status)`,
      hint: 'lower the pool resources, or send the pool to a site that has such machines',
    })
  }
  return out
}
