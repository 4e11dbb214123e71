/**
 * The HTCondor pool as `condor_status -json` shows it: slots with their state, cpus, memory and
 * GPUs (a partitionable slot counts as the machine share it can be carved into). Summing is pure;
 * `readCondorPool` runs condor_status through the site's transport. HTCondor cannot run on the
 * development machine: this is tested with the labelled simulator of the command-line tools.
 */
import type { SiteConfig } from '../site/schema.ts'
import { HTCondorClient } from '../execution/strategies/htcondor/client.ts'
import { num, str, type ClassAd } from '../execution/strategies/htcondor/parse.ts'
import { SLOT_ATTRIBUTES } from '../execution/strategies/htcondor/preflight.ts'
import { resolveHTCondorSite } from '../execution/strategies/htcondor/site.ts'
import { createTransport } from '../execution/transport/index.ts'
import type { CommandTransport } from '../execution/transport/types.ts'
import type { Machine } from './fit.ts'

export interface CondorSlotView {
  name: string
  machine: string
  /** Unclaimed | Claimed | Owner | Matched | Preempting | Drained | ... */
  state: string
  activity: string
  partitionable: boolean
  cpus: number
  memoryMiB: number
  gpus: number
}

export interface CondorPoolView {
  slots: CondorSlotView[]
  byState: Record<string, number>
  cpus: number
  memoryMiB: number
  gpus: number
  machines: Machine[]
}

export const STATUS_ATTRIBUTES = [...SLOT_ATTRIBUTES, 'Activity']

/** slot ClassAds -> the pool view (the most a slot can give: TotalSlot* for partitionable slots) */
export function summariseSlots(ads: ClassAd[]): CondorPoolView {
  const slots = ads.map((ad) => ({
    name: str(ad.Name) ?? '?',
    machine: str(ad.Machine) ?? '?',
    state: str(ad.State) ?? 'Unknown',
    activity: str(ad.Activity) ?? '',
    partitionable: ad.PartitionableSlot === true || str(ad.SlotType) === 'Partitionable',
    cpus: num(ad.TotalSlotCpus) ?? num(ad.Cpus) ?? 0,
    memoryMiB: num(ad.TotalSlotMemory) ?? num(ad.Memory) ?? 0,
    gpus: num(ad.TotalSlotGPUs) ?? num(ad.GPUs) ?? 0,
  }))
  const byState: Record<string, number> = {}
  for (const s of slots) byState[s.state] = (byState[s.state] ?? 0) + 1
  return {
    slots,
    byState,
    cpus: slots.reduce((a, s) => a + s.cpus, 0),
    memoryMiB: slots.reduce((a, s) => a + s.memoryMiB, 0),
    gpus: slots.reduce((a, s) => a + s.gpus, 0),
    machines: slots.map((s) => ({
      name: s.name,
      group: null,
      cpus: s.cpus,
      memoryMiB: s.memoryMiB,
      gpus: s.gpus,
      idle: s.state === 'Unclaimed',
      usable: s.state !== 'Owner' && s.state !== 'Drained',
    })),
  }
}

export async function readCondorPool(site: SiteConfig, transport?: CommandTransport): Promise<CondorPoolView> {
  const client = new HTCondorClient(transport ?? createTransport(site), resolveHTCondorSite(site.htcondor), {
    timeoutMs: 15_000,
  })
  return summariseSlots(await client.status(STATUS_ATTRIBUTES))
}
