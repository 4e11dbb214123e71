'use client'
/**
 * Main-thread side of the layout (after Dagster's asyncGraphLayout): small graphs are laid out at
 * once on this thread (a worker round trip costs more than the layout); larger ones in one shared
 * Web Worker, through the shared worker-RPC helper.
 */
import { DAGRE_MAX_NODES, type LayoutInput, type LayoutResult, layoutGraphSync } from './layout'
import { workerClient } from './workerRpc'

/** Below this many nodes, the layout runs synchronously (a few ms). */
export const SYNC_LAYOUT_MAX_NODES = 150

const rpc = workerClient<LayoutInput, LayoutResult>(
  () => new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' }),
  layoutGraphSync,
  'layout',
)

/**
 * Whether a graph of this size is laid out on this thread: when small, and when large enough for the
 * linear-time layered layout (a few ms for 2,000 nodes; its first paint is then the final one).
 */
export function layoutsHere(nodes: number): boolean {
  return nodes <= SYNC_LAYOUT_MAX_NODES || nodes > DAGRE_MAX_NODES
}

/** Lays a graph out: on this thread when `layoutsHere`, otherwise (dagre) off the main thread. */
export function requestLayout(input: LayoutInput): Promise<LayoutResult> {
  if (layoutsHere(input.nodes.length)) return Promise.resolve(layoutGraphSync(input))
  return rpc.call(input)
}
