/**
 * Public types of the workflow compiler (the model: docs/execution-model.md).
 *
 * Pure TypeScript: no I/O, no `node:` imports. Runs in the browser, the server and the CLI.
 */
import type { ProblemCode } from './problem-codes.ts'
import type { BackendName, StrategyName } from '../execution/vocabulary.ts'

export interface SourcePos {
  /** 1-based line */
  line: number
  /** 1-based column */
  col: number
  /** 0-based character offset */
  offset: number
}

export interface SourceRange {
  start: SourcePos
  end: SourcePos
}

export type Severity = 'error' | 'warning'

export interface Problem {
  /** kebab-case stable id, e.g. 'unknown-pool' (all of them: problem-codes.ts) */
  code: ProblemCode
  severity: Severity
  message: string
  hint?: string
  range: SourceRange
  /** YAML path of the offending node */
  path: (string | number)[]
}

export interface CompileOptions {
  fileName?: string
  /** When true, the plan is about to be run: unknown ops become errors instead of warnings. */
  forRun?: boolean
  /**
   * backend / strategy given outside the file (`controlroom run --strategy local`, the run
   * dialog): the plan uses them and every check applies as if they were written in the file
   */
  overrides?: { backend?: string; strategy?: string }
}

export interface CompileResult {
  /** true when there is no error-severity problem */
  ok: boolean
  /**
   * null only when the YAML cannot be parsed to a document at all or has no analysis.stages;
   * otherwise a best-effort plan, even with errors, so the DAG view can still render.
   */
  plan: ExecutionPlan | null
  problems: Problem[]
  /** range of each stage's mapping in the YAML, for editor <-> graph navigation */
  stageRanges: Record<string, SourceRange>
}

export interface PoolResources {
  cpus: number
  memoryBytes: number | null
  gpus: number
  diskBytes: number | null
}

export interface PlanPool {
  name: string
  workers: number
  resources: PoolResources
  /** name of the resource class under `execution.resources` the pool refers to, if any */
  resourceClass: string | null
  /**
   * Site config (partition, account, qos, queue, walltime, constraint, requirements, extra, ...)
   * kept as given; a parseable `walltime` is also given as `walltimeSeconds`.
   */
  config: Record<string, unknown>
  /** true when the pool was not declared (implicit `default` pool) */
  implicit: boolean
  /** ids of the stages routed to this pool, in plan order */
  stages: string[]
}

export type RoutingDecision = 'require' | 'prefer' | 'fallback' | 'default'

export interface PlanStageRouting {
  require: string | null
  prefer: string | null
  fallback: string | null
  decision: RoutingDecision
  /** human sentence explaining why the stage landed on its pool */
  reason: string
}

export interface PlanStageInput {
  node: string
  port: string | null
  as: string | null
}

export interface PlanModifier {
  name: string
  params: Record<string, unknown>
}

export interface PlanStage {
  id: string
  op: string
  params: Record<string, unknown>
  /** all upstream stage ids, resolved (explicit needs + `from` nodes, or the implicit previous stage) */
  needs: string[]
  /** from `from` */
  inputs: PlanStageInput[]
  pool: string
  resources: PoolResources
  routing: PlanStageRouting
  modifiers: PlanModifier[]
  timeoutSeconds: number | null
  retries: number | null
  /** source order (0-based) */
  index: number
  /** `applies_to` (fasthep-flow): the datasets a hep.* stage reads are only those matching; absent = all */
  appliesTo?: StageApplicability
}

export interface StageApplicability {
  eventtype?: 'data' | 'mc'
  datasets?: string[]
}

export type EdgeKind = 'implicit' | 'needs' | 'from'

export interface PlanEdge {
  from: string
  to: string
  kind: EdgeKind
}

export type EnvironmentType = 'shared-fs' | 'packed-pixi' | 'conda-pack'

export interface PlanEnvironment {
  type: EnvironmentType
  [k: string]: unknown
}

/** A reference to where a credential is found. Never a secret value. */
export interface CredentialRef {
  kind: 'x509' | 'scitoken'
  source: 'env' | 'path' | 'discover'
  path?: string
  env?: string
  required: boolean
  minValidSeconds?: number
}

export interface OpSpec {
  command?: string[] | string
  python?: string
  description?: string
  [k: string]: unknown
}

export interface DatasetSpec {
  name: string
  eventtype?: string
  files: string[]
  nevents?: number
  treeName?: string
  metadata?: Record<string, unknown>
  [k: string]: unknown
}

/** the driver names are declared once, with the other states and names (server/execution/vocabulary.ts) */
export type { BackendName, StrategyName }

export interface ExecutionPlan {
  schemaVersion: 1
  /** sha256 hex of the canonical (sorted-key) JSON of the plan without `hash` */
  hash: string
  name?: string
  backend: BackendName
  /** 'default' is normalised to 'local' */
  strategy: StrategyName
  pools: PlanPool[]
  /** in topological order, ties broken by source order */
  stages: PlanStage[]
  edges: PlanEdge[]
  environment: PlanEnvironment
  credentials: CredentialRef[]
  /** execution.config */
  config: Record<string, unknown>
  registry: { ops: Record<string, OpSpec> }
  datasets: DatasetSpec[]
  /** other top-level keys, kept as given */
  passthrough: Record<string, unknown>
  /** where the execution values came from, when the workflow selects profiles (use.profiles) */
  provenance?: PlanProvenance
  warnings: Problem[]
}

export interface ModifierInfo {
  name: string
  description: string
  requiresGpu: boolean
  params?: Record<string, { type: string; description: string }>
}

export interface BuiltinOpInfo {
  name: string
  description: string
  params?: Record<string, string>
}

/** the layers of a workflow's execution settings, lowest first, and the layer of each value */
export interface PlanProvenance {
  layers: {
    name: string
    kind: 'builtin-defaults' | 'builtin' | 'builtin-registry' | 'package' | 'package-registry' | 'workflow'
  }[]
  /** `execution.backend`, `execution.config.workers`, `execution.pools.gpu`, ... -> `profile:<name>` | `workflow` */
  values: Record<string, string>
}
