/**
 * What an existing Dask cluster (`execution.config.scheduler_address`) offers, and whether the
 * plan's pools fit it. The workers are on other hosts: this host's CPUs, GPUs and memory say nothing
 * about them, so the pools are checked against what the scheduler reports for its workers.
 *
 * A worker offers (per task it runs; our workers run one task at a time):
 *   - CPUs: its `CPU` resource when declared, else the CPU count of its host
 *   - GPUs: its `GPU` resource (Dask's convention: `--resources GPU=2`), else none
 *   - memory: its `MEMORY` resource (bytes) when declared, else its memory limit (0 = unlimited)
 * and serves pool P only when it carries the resource `pool.P` (every task asks for `pool.P=1`).
 */
import { execFile } from 'node:child_process'
import { formatBytes } from '../../../format.ts'
import type { ExecutionPlan } from '../../../workflow/types.ts'
import type { PoolProblem } from '../../types.ts'
import { poolResource } from './protocol.ts'

export interface WorkerOffer {
  address: string
  name: string
  host: string | null
  nthreads: number | null
  /** CPUs of the worker's host (os.cpu_count() on it), when it answered */
  hostCpus: number | null
  /** the worker's memory limit in bytes (0 or null: none) */
  memoryLimit: number | null
  resources: Record<string, number>
}

/** the resource value under any of the names (case-insensitive), or null */
function resource(res: Record<string, number>, ...names: string[]): number | null {
  for (const [k, v] of Object.entries(res)) if (names.includes(k.toLowerCase()) && Number.isFinite(v)) return v
  return null
}

export function offerOf(w: WorkerOffer): { cpus: number | null; gpus: number; memoryBytes: number | null } {
  const res = w.resources ?? {}
  const memory = resource(res, 'memory', 'mem')
  return {
    cpus: resource(res, 'cpu', 'cpus') ?? w.hostCpus ?? w.nthreads,
    gpus: resource(res, 'gpu', 'gpus') ?? 0,
    memoryBytes: memory ?? (w.memoryLimit && w.memoryLimit > 0 ? w.memoryLimit : null),
  }
}

/** pools that some stage is routed to */
function usedPools(plan: ExecutionPlan) {
  const used = new Set(plan.stages.map((s) => s.pool))
  return plan.pools.filter((p) => used.has(p.name))
}

/**
 * The plan's pools against the workers of the scheduler at `address`. Pure. A pool no worker
 * carries is an error when the scheduler has workers (none will ever run its tasks), a warning when
 * it has none yet (an adaptive cluster may still start them).
 */
export function checkPoolsAgainstWorkers(
  plan: ExecutionPlan,
  workers: readonly WorkerOffer[],
  address: string,
): PoolProblem[] {
  const out: PoolProblem[] = []
  for (const pool of usedPools(plan)) {
    const tag = poolResource(pool.name)
    const carrying = workers.filter((w) => (w.resources?.[tag] ?? 0) > 0)
    if (carrying.length === 0) {
      const none = workers.length === 0
      out.push({
        code: none ? 'dask-scheduler-no-workers' : 'dask-pool-no-worker',
        severity: none ? 'warning' : 'error',
        pool: pool.name,
        message: none
          ? `the Dask scheduler ${address} has no workers yet; the tasks of pool '${pool.name}' wait for a worker carrying the resource ${tag}`
          : `none of the ${workers.length} worker${workers.length === 1 ? '' : 's'} of the Dask scheduler ${address} carries the resource ${tag}, so the tasks of pool '${pool.name}' would never run (workers: ${workers
              .slice(0, 5)
              .map((w) => w.name)
              .join(', ')}${workers.length > 5 ? ', …' : ''})`,
        hint: `start the pool's workers with --resources "${tag}=1" (plus what they offer, e.g. GPU=1,MEMORY=16e9)`,
      })
      continue
    }
    const r = pool.resources
    const offers = carrying.map((w) => ({ w, o: offerOf(w) }))
    const fits = offers.filter(
      ({ o }) =>
        (o.cpus == null || r.cpus <= o.cpus) &&
        r.gpus <= o.gpus &&
        (r.memoryBytes == null || o.memoryBytes == null || r.memoryBytes <= o.memoryBytes),
    )
    if (fits.length > 0) continue
    const lacks = (what: 'cpus' | 'gpus' | 'memory', asked: string, best: string, hint: string) =>
      out.push({
        code: `dask-workers-${what}-insufficient`,
        severity: 'error',
        pool: pool.name,
        message: `pool '${pool.name}' needs ${asked} per worker; the workers of the Dask scheduler ${address} carrying ${tag} offer at most ${best}`,
        hint,
      })
    const maxOf = (f: (o: ReturnType<typeof offerOf>) => number | null) =>
      Math.max(...offers.map(({ o }) => f(o) ?? Number.POSITIVE_INFINITY))
    const cpus = maxOf((o) => o.cpus)
    const gpus = maxOf((o) => o.gpus)
    const mem = maxOf((o) => o.memoryBytes)
    if (r.gpus > gpus)
      lacks(
        'gpus',
        `${r.gpus} GPU${r.gpus === 1 ? '' : 's'}`,
        `${gpus} (the workers' GPU resource)`,
        `lower resources.gpus, or start the workers with --resources "${tag}=1,GPU=${r.gpus}"`,
      )
    if (r.cpus > cpus)
      lacks('cpus', `${r.cpus} CPUs`, `${cpus}`, `lower resources.cpus, or give the workers a CPU=${r.cpus} resource`)
    if (r.memoryBytes != null && r.memoryBytes > mem)
      lacks(
        'memory',
        formatBytes(r.memoryBytes),
        formatBytes(mem),
        'lower resources.memory, or start the workers with a larger --memory-limit (or a MEMORY resource in bytes)',
      )
    if (!out.some((p) => p.pool === pool.name))
      // each need is met by some worker, but no single worker meets them all
      out.push({
        code: 'dask-workers-insufficient',
        severity: 'error',
        pool: pool.name,
        message: `pool '${pool.name}' needs ${r.cpus} CPUs, ${r.gpus} GPUs${r.memoryBytes != null ? ` and ${formatBytes(r.memoryBytes)}` : ''} on one worker; no worker of the Dask scheduler ${address} carrying ${tag} offers all of them`,
        hint: 'lower the pool resources or start a worker that offers them all',
      })
  }
  return out
}

/** asks the scheduler for its workers (identity) and each worker's host CPU count; JSON on stdout */
const PROBE = `
import json, os, sys
addr, timeout = sys.argv[1], float(sys.argv[2])
try:
    from distributed import Client
    c = Client(addr, timeout=timeout, set_as_default=False)
except Exception as e:
    print(json.dumps({'error': '%s: %s' % (type(e).__name__, e)}))
    sys.exit(0)
try:
    ws = c.scheduler_info().get('workers', {})
    cpus = {}
    if ws:
        try:
            cpus = c.run(os.cpu_count, on_error='return')
        except Exception:
            cpus = {}
    out = []
    for a, w in ws.items():
        n = cpus.get(a)
        out.append({'address': a, 'name': str(w.get('name', a)), 'host': w.get('host'),
                    'nthreads': w.get('nthreads'), 'memoryLimit': w.get('memory_limit'),
                    'resources': w.get('resources') or {}, 'hostCpus': n if isinstance(n, int) else None})
    print(json.dumps({'workers': out}))
finally:
    c.close()
`

export class SchedulerProbeError extends Error {}

/**
 * The workers of the Dask scheduler at `address`, as it reports them. Throws SchedulerProbeError
 * (with the reason) when the scheduler cannot be reached within `timeoutMs`.
 */
export function probeSchedulerWorkers(python: string, address: string, timeoutMs = 8000): Promise<WorkerOffer[]> {
  return new Promise((resolve, reject) => {
    execFile(
      python,
      ['-c', PROBE, address, String(Math.max(1, Math.floor(timeoutMs / 1000) - 1))],
      { timeout: timeoutMs + 2000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop() ?? ''
        type Answer = { error?: string; workers?: WorkerOffer[] }
        let parsed: Answer | null = null
        try {
          parsed = line ? (JSON.parse(line) as Answer) : null
        } catch {
          parsed = null
        }
        if (parsed?.workers) return resolve(parsed.workers)
        const why =
          parsed?.error ??
          (err?.killed
            ? `no answer within ${Math.round(timeoutMs / 1000)} s`
            : (String(stderr || err?.message || 'no output')
                .trim()
                .split('\n')
                .pop() ?? ''))
        reject(new SchedulerProbeError(`cannot ask the Dask scheduler ${address} for its workers: ${why}`))
      },
    )
  })
}
