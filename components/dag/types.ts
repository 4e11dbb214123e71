/**
 * Types of the reusable pipeline graph (the composer fills it from a compiled plan; the run page will
 * fill it from task state). Nothing here depends on the workflow compiler.
 */
import type { TaskState } from '../../server/execution/vocabulary.ts'

/** A stage's execution state: the task states (server/execution/vocabulary.ts). `undefined` = not running (composer). */
export type NodeRunState = TaskState

export interface GraphNodeData {
  /** stage id (also the node id) */
  id: string
  /** second line, e.g. the op */
  op: string
  /** pool the stage is routed to */
  pool: string
  /** pool colour (CSS colour) */
  color: string
  /** short routing text, e.g. "require gpu" or "prefer gpu → fallback default" */
  routing?: string
  /** routing decision, shown as a small tag ('fallback' is highlighted) */
  decision?: 'require' | 'prefer' | 'fallback' | 'default'
  /** modifier badges */
  badges?: string[]
  /** worst problem attached to the stage */
  marker?: 'error' | 'warning' | null
  /** tooltip for the marker (problem messages) */
  markerText?: string
  /** run state (run page) */
  state?: NodeRunState
  /** set on a group node (repeated fan-out collapsed): how many sibling chains and stages it holds */
  group?: { count: number; stages: number; first: string; last: string }
  /** progress of a stage's tasks/partitions (run page) */
  progress?: { done: number; total: number; failed?: number }
}

export interface GraphEdgeData {
  from: string
  to: string
  kind: 'implicit' | 'needs' | 'from'
}

export interface GraphLegendPool {
  name: string
  color: string
  workers: number
  cpus: number
  memory: string | null
  gpus: number
  stages: number
  implicit?: boolean
}

export interface XY {
  x: number
  y: number
}

export type Positions = Record<string, XY>

/** Node box size used by the layout and by React Flow (fixed so culling needs no measuring). */
export const NODE_WIDTH = 220
export const NODE_HEIGHT = 78
