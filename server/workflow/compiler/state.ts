/**
 * Shared shapes of the compiler passes: the per-stage record, the state the execution passes fill
 * in, and small helpers over plain YAML values. No pass keeps state of its own.
 */
import type { SourceContext } from '../source.ts'
import type { Path } from '../source.ts'
import type {
  BackendName,
  EdgeKind,
  OpSpec,
  PlanPool,
  PlanStageInput,
  PoolResources,
  StageApplicability,
  StrategyName,
} from '../types.ts'
import type { MapOptions } from '../zodmap.ts'

export type Obj = Record<string, unknown>

export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)
export const asObj = (v: unknown): Obj => (isObj(v) ? v : {})
export const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim() !== ''
export const quoteList = (xs: string[]) => xs.map((x) => `'${x}'`).join(', ')

/** Assign an own property, even for keys such as `__proto__`. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}

export const DEFAULT_RESOURCES: PoolResources = { cpus: 1, diskBytes: null, gpus: 0, memoryBytes: null }

export const MEMORY_HINT = 'write a size such as 4GB, 512MiB or 64G (GB = GiB = 1024^3 bytes; a plain number is MB)'
export const DURATION_HINT = 'write a duration such as 02:00:00, 1-00:00:00, 90m, 2h or 30s'

/** Codes for schema issues at particular places. */
export const COMMON_MAP: MapOptions = {
  codeFor(issue, path) {
    const last = path[path.length - 1]
    // 0, -3, "many", 2.5: each a count that is not one
    if ((last === 'workers' || last === 'n_workers') && issue.code !== 'unrecognized_keys') return 'invalid-workers'
    return undefined
  },
}

export interface StageRec {
  index: number
  id: string
  hasId: boolean
  raw: Obj
  path: Path
  op: string
  params: Obj
  /** resolved upstream (dependency) indices into `stages` with the path of the entry */
  deps: { idx: number; kind: EdgeKind; path: Path }[]
  inputs: PlanStageInput[]
  exec: Obj
  appliesTo?: StageApplicability
}

export interface CompileState {
  ctx: SourceContext
  forRun: boolean
  backend: BackendName
  strategy: StrategyName
  config: Obj
  classes: Map<string, PoolResources>
  pools: PlanPool[]
  poolByName: Map<string, PlanPool>
  poolsByClass: Map<string, PlanPool[]>
  ops: Record<string, OpSpec>
  customModifiers: Map<string, { requiresGpu: boolean }>
}
