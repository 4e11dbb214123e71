/**
 * The cluster as each site sees it, beside the pools our workflows ask for. Each batch system is
 * asked once per CACHE_MS however many browsers look (one sinfo + one squeue, one condor_status);
 * a system that is not installed or does not answer is shown with the reason and how to fix it.
 */
import os from 'node:os'
import type { Db } from '../db/client.ts'
import { hostCapacity } from '../execution/strategies/local.ts'
import { loadSiteConfig } from '../site/load.ts'
import type { SiteConfig } from '../site/schema.ts'
import { type DaskSiteView, readDaskSites } from './dask.ts'
import { recentWorkflowNeeds, type StrategyNeed } from './demand.ts'
import { fitPool, type Machine, type PoolFit } from './fit.ts'
import { readCondorPool, type CondorPoolView } from './htcondor.ts'
import { readSlurmCluster, type SlurmClusterView } from './slurm.ts'

export type Reachable<T> = ({ status: 'ok' } & T) | { status: 'unavailable'; message: string; hint: string }

export interface ClusterView {
  checkedAt: string
  slurm: Reachable<Omit<SlurmClusterView, 'machines'> & { fits: PoolFit[] }>
  htcondor: Reachable<Omit<CondorPoolView, 'machines'> & { fits: PoolFit[] }>
  /** existing Dask clusters (scheduler_address) our workflows send pools to, as each sees itself */
  dask: DaskSiteView[]
  /** pools run on this host (local strategy, no existing Dask cluster) against what it has */
  host: { cpus: number; memoryMiB: number; gpus: number; fits: PoolFit[] }
}

const CACHE_MS = 5000
let cached: { at: number; key: string; value: Promise<ClusterView> } | null = null

function unavailable(e: unknown, tool: string, hint: string): { status: 'unavailable'; message: string; hint: string } {
  const msg = (e as Error).message ?? String(e)
  const missing = /exit 127|ENOENT|not found/i.test(msg)
  return {
    status: 'unavailable',
    message: missing ? `${tool} is not installed where the batch commands run` : msg.split('\n')[0]!.slice(0, 400),
    hint,
  }
}

/** this host as one machine, and the local pools on it (the engine runs every local pool here) */
function hostFits(needs: StrategyNeed[]): ClusterView['host'] {
  const h = hostCapacity()
  const machine: Machine = {
    name: os.hostname(),
    group: null,
    cpus: h.cpus,
    memoryMiB: Math.floor(h.memoryBytes / 1048576),
    gpus: h.gpus,
    idle: true,
    usable: true,
  }
  return {
    cpus: machine.cpus,
    memoryMiB: machine.memoryMiB,
    gpus: machine.gpus,
    fits: needs.map((n) => fitPool(n, [machine], { kind: 'host' })),
  }
}

/** assemble the view (uncached): the batch systems and Dask schedulers are asked in parallel */
export async function readClusterView(db: Db, site: SiteConfig): Promise<ClusterView> {
  const needs = await recentWorkflowNeeds(db, site)
  const [slurm, condor, dask] = await Promise.allSettled([
    readSlurmCluster(site),
    readCondorPool(site),
    readDaskSites(needs),
  ])
  const slurmNeeds = needs.filter((n) => n.strategy === 'slurm')
  const condorNeeds = needs.filter((n) => n.strategy === 'htcondor')
  return {
    checkedAt: new Date().toISOString(),
    slurm:
      slurm.status === 'fulfilled'
        ? (() => {
            const { machines, ...view } = slurm.value
            return {
              status: 'ok' as const,
              ...view,
              fits: slurmNeeds.map((n) =>
                fitPool({ ...n, partition: n.partition ?? view.defaultPartition }, machines, { kind: 'slurm' }),
              ),
            }
          })()
        : unavailable(
            slurm.reason,
            'sinfo',
            site.ssh
              ? `check the ssh login host ${site.ssh.host} and the site slurm.binDir`
              : 'install the Slurm client (slurm-client) and set SLURM_CONF, or set slurm.binDir / slurm.env / ssh in the site file',
          ),
    htcondor:
      condor.status === 'fulfilled'
        ? (() => {
            const { machines, ...view } = condor.value
            return {
              status: 'ok' as const,
              ...view,
              fits: condorNeeds.map((n) => fitPool(n, machines, { kind: 'htcondor' })),
            }
          })()
        : unavailable(
            condor.reason,
            'condor_status',
            'install the HTCondor tools or set htcondor.binDir / htcondor.env (CONDOR_CONFIG) / ssh in the site file',
          ),
    dask: dask.status === 'fulfilled' ? dask.value : [],
    host: hostFits(needs.filter((n) => n.strategy === 'local' && !n.schedulerAddress)),
  }
}

/** the cached view for the overview page (site file read each time: an edit shows within CACHE_MS) */
export function clusterView(db: Db, opts: { site?: SiteConfig; fresh?: boolean } = {}): Promise<ClusterView> {
  const site = opts.site ?? loadSiteConfig()
  const key = JSON.stringify(site)
  const now = Date.now()
  if (!opts.fresh && cached && cached.key === key && now - cached.at < CACHE_MS) return cached.value
  const value = readClusterView(db, site)
  cached = { at: now, key, value }
  value.catch(() => {
    if (cached?.value === value) cached = null
  })
  return value
}
