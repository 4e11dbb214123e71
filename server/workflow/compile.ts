/**
 * The workflow compiler: YAML text -> execution plan + located problems.
 *
 *   parse (compiler/parse.ts) -> profiles (compiler/profiles.ts: use.profiles layers) -> normalise (compiler/normalise.ts, compiler/pools.ts)
 *   -> validate (compiler/validate.ts: stages, needs/from/implicit edges, cycles, order)
 *   -> route (compiler/route.ts) -> plan (compiler/plan.ts, + hash)
 *
 * Pure: no I/O. Never throws: an unexpected failure is reported as an `internal-error` problem.
 *
 * Language decisions (the model: docs/execution-model.md):
 *  - Dependencies: a stage with neither `needs` nor `from` depends on the previous stage in source
 *    order (the first has none). `needs: [A, B]` is explicit; `needs: []` means no dependency.
 *    Stages named in `from` are dependencies too, in addition to `needs`. A `from` naming a
 *    top-level `sources` stream or a dataset (not a stage) binds an input without an edge.
 *    `from: "Stage.port"` binds port `port` of `Stage`.
 *  - One edge per (upstream, downstream) pair; its kind is `from` if a product flows, else
 *    `needs`, else `implicit`.
 *  - Routing: `require: L` goes to the pool named L, else to the pool whose resource class is L
 *    (the first declared one, with a warning, when several are); `prefer: X` the same, else
 *    `fallback: Y`, else the default pool with a warning. No requirement: the `default` pool,
 *    created implicitly (1 worker, 1 cpu, or `execution.config.workers` workers) when undeclared.
 *  - Durations: stage `timeout` and credential `min_valid` bare numbers are seconds
 *    (fasthep-flow); pool `walltime` bare numbers are minutes (Slurm); `maxruntime` seconds (HTCondor).
 *  - Memory: binary units, bare numbers are MB (see units.ts).
 */

import {
  checkEnvironmentApplies,
  normaliseCredentials,
  normaliseDatasets,
  normaliseEnvironment,
  normaliseRegistry,
} from './compiler/normalise.ts'
import { parseWorkflow } from './compiler/parse.ts'
import { resolveProfiles } from './compiler/profiles.ts'
import { buildPlan, sortProblems } from './compiler/plan.ts'
import { checkConfigWorkers, normaliseExecution } from './compiler/pools.ts'
import { routeStages } from './compiler/route.ts'
import { orderStages, resolveDependencies, validateStages } from './compiler/validate.ts'
import { IncrementalParser } from './reparse.ts'
import { SourceContext } from './source.ts'
import type { CompileOptions, CompileResult, ExecutionPlan, Problem, SourceRange } from './types.ts'
import { fastParse, type FastParseResult } from './ynode.ts'

export function compileWorkflow(source: string, options: CompileOptions = {}): CompileResult {
  return compileWith(source, options, fastParse)
}

export interface WorkflowCompiler {
  /** the same result as `compileWorkflow(source, options)` */
  compile(source: string, options?: CompileOptions): CompileResult
}

/**
 * A compiler for one document being edited (the composer's worker): it remembers the last text it
 * parsed, so an edit inside one stage re-reads only that stage (reparse.ts) and the stages that did
 * not change keep their values, whose schema check is then skipped (compiler/validate.ts). Results
 * are those of `compileWorkflow` (a property test compares them over random edits).
 */
export function createWorkflowCompiler(): WorkflowCompiler {
  const parser = new IncrementalParser()
  const parse = (s: string) => parser.parse(s)
  return { compile: (source, options = {}) => compileWith(source, options, parse) }
}

function compileWith(
  source: string,
  options: CompileOptions,
  parseFast: (source: string) => FastParseResult | null,
): CompileResult {
  let ctx: SourceContext | null = null
  try {
    ctx = new SourceContext(typeof source === 'string' ? source : String(source ?? ''), parseFast)
    return compileInner(ctx, options)
  } catch (e) {
    const problems: Problem[] = ctx ? [...ctx.problems] : []
    const zero = { line: 1, col: 1, offset: 0 }
    problems.push({
      code: 'internal-error',
      severity: 'error',
      message: `the compiler failed unexpectedly: ${String((e as Error)?.message ?? e)}`,
      hint: 'this is a bug in Control Room; please report it with the workflow text',
      range: { start: zero, end: zero },
      path: [],
    })
    return { ok: false, plan: null, problems, stageRanges: {} }
  }
}

function finish(
  ctx: SourceContext,
  plan: ExecutionPlan | null,
  stageRanges: Record<string, SourceRange>,
): CompileResult {
  const problems = sortProblems(ctx.problems)
  return { ok: !problems.some((p) => p.severity === 'error'), plan, problems, stageRanges }
}

function compileInner(ctx: SourceContext, options: CompileOptions): CompileResult {
  const parsed = parseWorkflow(ctx)
  if (!parsed) return finish(ctx, null, {})
  const { js: file, analysis } = parsed
  const forRun = options.forRun === true
  // use.profiles: the execution the later passes read is the profiles' layers under the file's own
  const profiles = resolveProfiles(ctx, file)
  const js = profiles.execution === file.execution ? file : { ...file, execution: profiles.execution }

  const { registry, ops, customModifiers } = normaliseRegistry(ctx, js)
  const datasets = normaliseDatasets(ctx, js.data, js.datasets)
  const overrides = options.overrides
  const { st, ex } = normaliseExecution(ctx, js, ops, customModifiers, forRun, overrides)
  const environment = normaliseEnvironment(ex.environment)
  checkEnvironmentApplies(ctx, environment, ex.environment, st.strategy, overrides?.strategy != null)
  const credentials = normaliseCredentials(ctx, ex.credentials)

  const stages = validateStages(ctx, analysis.stages, ops, datasets, forRun)
  resolveDependencies(ctx, js, stages, datasets)
  const order = orderStages(ctx, stages.recs)
  const routed = routeStages(st, stages.recs)
  checkConfigWorkers(st)

  const plan = buildPlan({
    js,
    analysis,
    registry,
    ex,
    st,
    recs: stages.recs,
    routed,
    order,
    environment,
    credentials,
    datasets,
    provenance: profiles.provenance,
  })
  return finish(ctx, plan, stages.stageRanges)
}
