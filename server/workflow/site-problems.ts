/**
 * Site feasibility as compile problems: the preflight's pool problems (a pool this host or cluster
 * cannot give, a missing credential or archive) placed at the YAML they concern, so that an editor
 * lists them with the compiler's own problems and "plan ok" means the plan can run on this site.
 *
 * Pure (no I/O): the caller runs the preflight (plan.preview does) and passes its problems.
 */
import type { ProblemCode } from './problem-codes.ts'
import { SourceContext } from './source.ts'
import type { Path } from './source.ts'
import type { Problem } from './types.ts'

export interface SiteProblem {
  code: ProblemCode
  severity: 'error' | 'warning'
  pool: string | null
  message: string
  hint?: string
  /** a config key path such as `execution.pools.gpu.config.partition`, when the problem has one */
  path?: string
}

/** `execution.pools.gpu.config.partition` -> ['execution', 'pools', 'gpu', 'config', 'partition'] */
function splitPath(p: string): Path {
  return p.split('.').filter((x) => x !== '')
}

/** `host-gpus-insufficient`, `dask-workers-memory-insufficient`, ... -> the resource key asked */
const RESOURCE_OF_CODE = /-(gpus|cpus|memory|disk)-insufficient$/

/**
 * Each site problem as a positioned Problem: at its config key when it names one that exists, else
 * at the pool's resource it asks too much of, else at its pool (`execution.pools.<name>`), else at
 * `execution` (or the document's start).
 */
export function siteProblemsAsCompileProblems(yaml: string, problems: readonly SiteProblem[]): Problem[] {
  const ctx = new SourceContext(yaml)
  for (const p of problems) {
    const candidates: Path[] = []
    if (p.path) candidates.push(splitPath(p.path))
    const resource = RESOURCE_OF_CODE.exec(p.code)?.[1]
    if (p.pool && resource) candidates.push(['execution', 'pools', p.pool, 'resources', resource])
    if (p.pool) candidates.push(['execution', 'pools', p.pool])
    candidates.push(['execution'])
    const at = candidates.find((c) => ctx.locate(c).exact) ?? []
    // name the pool unless the message does already
    const message =
      p.pool && !p.message.includes(`pool '${p.pool}'`)
        ? `on this site, pool '${p.pool}': ${p.message}`
        : `on this site: ${p.message}`
    ctx.add(p.code, p.severity, message, at, { at: 'key', ...(p.hint ? { hint: p.hint } : {}) })
  }
  // only the problems added here (SourceContext may also report YAML problems of its own)
  return ctx.problems.filter((x) => problems.some((p) => p.code === x.code))
}
