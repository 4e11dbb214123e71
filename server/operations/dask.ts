/**
 * Existing Dask clusters as they see themselves: each `scheduler_address` our recent workflows
 * send pools to is asked for its workers (what each offers: CPUs, GPUs, memory, and the pools it
 * serves through its `pool.<name>` resource), and each pool gets one sentence, e.g.
 *
 *   default needs 2 × 4 GB: 3 workers of tcp://10.0.0.5:8786 serve pool default and can give it
 *
 * `daskSiteFit` is pure; `readDaskSites` asks the schedulers (in parallel, bounded in time).
 */
import { readSetting } from '../settings.ts'
import { formatBytes } from '../format.ts'
import { offerOf, probeSchedulerWorkers, type WorkerOffer } from '../execution/backends/dask/scheduler-capacity.ts'
import { reachable } from '../execution/backends/dask.ts'
import { poolResource } from '../execution/backends/dask/protocol.ts'
import type { StrategyNeed } from './demand.ts'
import { describeRequest, type FitVerdict, type PoolFit } from './fit.ts'

export interface DaskWorkerView {
  name: string
  host: string | null
  cpus: number | null
  gpus: number
  memoryBytes: number | null
  /** the pools it serves (its `pool.<name>` resources) */
  pools: string[]
}

export type DaskSiteView =
  | { address: string; status: 'ok'; workers: DaskWorkerView[]; fits: PoolFit[] }
  | { address: string; status: 'unavailable'; message: string; hint: string; fits: PoolFit[] }

/** at most this many schedulers are asked per view (the rest are named, not asked) */
export const MAX_SCHEDULERS = 4
const PROBE_MS = 5000
const POOL_PREFIX = poolResource('')

export function workerView(w: WorkerOffer): DaskWorkerView {
  const o = offerOf(w)
  return {
    name: w.name,
    host: w.host,
    cpus: o.cpus,
    gpus: o.gpus,
    memoryBytes: o.memoryBytes,
    pools: Object.entries(w.resources ?? {})
      .filter(([k, v]) => k.startsWith(POOL_PREFIX) && v > 0)
      .map(([k]) => k.slice(POOL_PREFIX.length))
      .sort(),
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** one pool against the workers of the scheduler at `address`. Pure. */
export function daskSiteFit(need: StrategyNeed, workers: readonly DaskWorkerView[], address: string): PoolFit {
  const head = `${need.pool} needs ${need.workers} × ${describeRequest(need)}`
  const serving = workers.filter((w) => w.pools.includes(need.pool))
  const able = serving.filter(
    (w) =>
      (w.cpus == null || need.cpus <= w.cpus) &&
      need.gpus <= w.gpus &&
      (need.memoryMiB == null || w.memoryBytes == null || need.memoryMiB * 1048576 <= w.memoryBytes),
  )
  const verdict: FitVerdict = able.length === 0 ? 'none' : able.length >= need.workers ? 'fits' : 'partly'
  let sentence: string
  if (serving.length === 0)
    sentence = `${head}: no worker of ${address} serves pool ${need.pool} (start them with --resources "${poolResource(need.pool)}=1")`
  else if (able.length === 0) {
    const best = serving.reduce(
      (a, w) => ({
        cpus: Math.max(a.cpus, w.cpus ?? 0),
        gpus: Math.max(a.gpus, w.gpus),
        mem: Math.max(a.mem, w.memoryBytes ?? 0),
      }),
      { cpus: 0, gpus: 0, mem: 0 },
    )
    sentence = `${head}: none of the ${plural(serving.length, 'worker')} of ${address} serving it can give one (the largest offers ${best.cpus} CPUs, ${best.gpus} GPUs, ${best.mem ? formatBytes(best.mem) : 'unlimited memory'})`
  } else if (able.length >= need.workers)
    sentence = `${head}: ${plural(able.length, 'worker')} of ${address} serve${able.length === 1 ? 's' : ''} pool ${need.pool} and can give it`
  else
    sentence = `${head}: only ${plural(able.length, 'worker')} of ${address} can give it, so ${able.length === 1 ? 'one task of the pool runs' : `${able.length} tasks of the pool run`} at once`
  return {
    pool: need.pool,
    workflows: need.workflows,
    verdict,
    machines: able.length,
    idleMachines: able.length,
    concurrentWorkers: able.length,
    group: address,
    sentence,
  }
}

/** a TCP connect first: a scheduler that is not there costs no Python start */
async function askScheduler(address: string): Promise<WorkerOffer[]> {
  const why = await reachable(address)
  if (why) throw new Error(why)
  return probeSchedulerWorkers(readSetting('CONTROLROOM_PYTHON'), address, PROBE_MS)
}

/** the schedulers the needs name, each asked for its workers; a scheduler that does not answer says why */
export async function readDaskSites(
  needs: readonly StrategyNeed[],
  probe: (address: string) => Promise<WorkerOffer[]> = askScheduler,
): Promise<DaskSiteView[]> {
  const addresses = [...new Set(needs.flatMap((n) => (n.schedulerAddress ? [n.schedulerAddress] : [])))].slice(
    0,
    MAX_SCHEDULERS,
  )
  return Promise.all(
    addresses.map(async (address): Promise<DaskSiteView> => {
      const mine = needs.filter((n) => n.schedulerAddress === address)
      try {
        const workers = (await probe(address)).map(workerView)
        return { address, status: 'ok', workers, fits: mine.map((n) => daskSiteFit(n, workers, address)) }
      } catch (e) {
        return {
          address,
          status: 'unavailable',
          message: (e as Error).message.split('\n')[0]!.slice(0, 400),
          hint: 'start the scheduler, or correct execution.config.scheduler_address (tcp://host:port)',
          fits: [],
        }
      }
    }),
  )
}
