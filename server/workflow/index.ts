/**
 * Control Room workflow compiler: public API.
 *
 * Pure TypeScript (no I/O, no `node:` imports): usable in the browser, the server and the CLI.
 *
 *   compileWorkflow(yamlText, { fileName, forRun }) -> { ok, plan, problems, stageRanges }
 */
export type {
  SourcePos,
  SourceRange,
  Severity,
  Problem,
  CompileOptions,
  CompileResult,
  PoolResources,
  PlanPool,
  PlanStage,
  PlanStageRouting,
  PlanStageInput,
  PlanModifier,
  RoutingDecision,
  PlanEdge,
  EdgeKind,
  PlanEnvironment,
  EnvironmentType,
  CredentialRef,
  OpSpec,
  DatasetSpec,
  BackendName,
  StrategyName,
  ExecutionPlan,
  ModifierInfo,
  BuiltinOpInfo,
} from './types.ts'

export { compileWorkflow, createWorkflowCompiler } from './compile.ts'
export type { WorkflowCompiler } from './compile.ts'
export { planHashInput } from './compiler/plan.ts'
export { parseMemory, parseDuration } from './units.ts'
export { KNOWN_MODIFIERS, BUILTIN_OPS, BACKENDS, STRATEGIES, ENVIRONMENT_TYPES } from './catalog.ts'
export { workflowJsonSchema } from './schema.ts'
export { formatProblem } from './format.ts'
export { sha256Hex, canonicalJson } from './hash.ts'
