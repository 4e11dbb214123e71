/**
 * How a compile result crosses from the worker to the page. Structured cloning a 2,000-stage plan
 * (tens of thousands of small objects) cost ~150 ms to post and as much again to receive on the main
 * thread; the plan's canonical JSON is already written in the worker for its hash, so the plan
 * travels as that text (one string copy) and is read back with `JSON.parse`, which is several times
 * faster than the structured-clone reader. Problems and stage ranges go as one more JSON text.
 */
import type { CompileResult, ExecutionPlan } from '~/server/workflow'
import type { TimedResult } from './compileTimed'

export interface WireResult {
  /** canonical JSON of the plan without `hash` (null: no plan) */
  planJson: string | null
  hash: string
  /** JSON of `{ ok, problems, stageRanges }` */
  restJson: string
  /** compile time in the worker, ms */
  ms: number
}

/** The plan with `hash` placed in its sorted position among the (already sorted) keys. */
export function withHash(body: Record<string, unknown>, hash: string): ExecutionPlan {
  const plan: Record<string, unknown> = {}
  let placed = false
  for (const k of Object.keys(body)) {
    if (!placed && k > 'hash') {
      plan.hash = hash
      placed = true
    }
    plan[k] = body[k]
  }
  if (!placed) plan.hash = hash
  return plan as unknown as ExecutionPlan
}

export function encodeResult(result: CompileResult, planJson: string | null, hash: string, ms: number): WireResult {
  const { ok, problems, stageRanges } = result
  return { planJson, hash, restJson: JSON.stringify({ ok, problems, stageRanges }), ms }
}

export function decodeResult(wire: WireResult): TimedResult {
  const rest = JSON.parse(wire.restJson) as Omit<CompileResult, 'plan'>
  const plan = wire.planJson === null ? null : withHash(JSON.parse(wire.planJson), wire.hash)
  return { result: { ...rest, plan }, ms: wire.ms }
}
