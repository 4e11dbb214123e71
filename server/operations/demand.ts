/**
 * The pools our workflows ask for: the head version of each recently changed workflow, compiled,
 * one need per (strategy, pool, request). Pools asking for the same thing in several workflows
 * are one need naming every workflow. Pure over the versions given; `recentWorkflowNeeds` reads them.
 */
import type { Db } from '../db/client.ts'
import type { SiteConfig } from '../site/schema.ts'
import { poolRequest } from '../execution/strategies/slurm/preflight.ts'
import { compileWorkflow } from '../workflow/index.ts'
import type { ExecutionPlan, PlanPool, StrategyName } from '../workflow/types.ts'
import type { PoolNeed } from './fit.ts'

export interface StrategyNeed extends PoolNeed {
  strategy: StrategyName
  /** Dask on an existing cluster: its scheduler (execution.config, else the site's dask section) */
  schedulerAddress: string | null
}

const MIB = 1024 * 1024

function slurmPartition(pool: PlanPool, site: SiteConfig): string | null {
  try {
    return poolRequest(pool, site).partition
  } catch {
    return typeof pool.config.partition === 'string' ? pool.config.partition : null
  }
}

function text(v: unknown): string | null {
  return typeof v === 'string' && v.trim() ? v.trim() : null
}

/** the existing Dask scheduler a plan sends its pools to, as the Dask backend decides it */
function schedulerAddress(plan: ExecutionPlan, site: SiteConfig): string | null {
  if (plan.backend !== 'dask') return null
  return text(plan.config.scheduler_address) ?? text(site.dask?.scheduler_address)
}

/** needs of the given workflow versions (head versions), merged by strategy + pool + request */
export function poolNeeds(versions: { workflow: string; yaml: string }[], site: SiteConfig): StrategyNeed[] {
  const out = new Map<string, StrategyNeed>()
  for (const v of versions) {
    const { plan } = compileWorkflow(v.yaml)
    if (!plan) continue
    for (const pool of plan.pools) {
      if (pool.stages.length === 0) continue
      const need: StrategyNeed = {
        strategy: plan.strategy,
        pool: pool.name,
        workflows: [v.workflow],
        workers: Math.max(1, pool.workers),
        cpus: Math.max(1, Math.ceil(pool.resources.cpus || 1)),
        memoryMiB: pool.resources.memoryBytes ? Math.ceil(pool.resources.memoryBytes / MIB) : null,
        gpus: Math.ceil(pool.resources.gpus || 0),
        partition: plan.strategy === 'slurm' ? slurmPartition(pool, site) : null,
        schedulerAddress: schedulerAddress(plan, site),
      }
      const key = JSON.stringify([
        need.strategy,
        need.pool,
        need.workers,
        need.cpus,
        need.memoryMiB,
        need.gpus,
        need.partition,
        need.schedulerAddress,
      ])
      const seen = out.get(key)
      if (seen) {
        if (!seen.workflows.includes(v.workflow)) seen.workflows.push(v.workflow)
      } else out.set(key, need)
    }
  }
  return [...out.values()]
}

/** the head versions of the `limit` most recently changed workflows (not archived or deleted) */
export async function recentWorkflowNeeds(db: Db, site: SiteConfig, limit = 20): Promise<StrategyNeed[]> {
  const rows = await db.workflow.findMany({
    where: { deletedAt: null, archivedAt: null, headVersionId: { not: null } },
    orderBy: { updatedAt: 'desc' },
    take: limit,
    select: { name: true, headVersion: { select: { yaml: true } } },
  })
  return poolNeeds(
    rows.flatMap((r) => (r.headVersion ? [{ workflow: r.name, yaml: r.headVersion.yaml }] : [])),
    site,
  )
}
