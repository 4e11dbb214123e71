'use client'
/**
 * Main-thread side of the layout (after Dagster's asyncGraphLayout): small graphs are laid out at
 * once on this thread (a worker round trip costs more than the layout); larger ones in one shared
 * Web Worker, through the shared worker-RPC helper.
 */
import { type LayoutInput, type LayoutResult, layoutGraphSync } from './layout'
import { workerClient } from './workerRpc'

/** Below this many nodes, the layout runs synchronously (a few ms). */
export const SYNC_LAYOUT_MAX_NODES = 150

const rpc = workerClient<LayoutInput, LayoutResult>(
  () => new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' }),
  layoutGraphSync,
  'layout',
)

/** Lays a graph out: synchronously when small, otherwise off the main thread. */
export function requestLayout(input: LayoutInput): Promise<LayoutResult> {
  if (input.nodes.length <= SYNC_LAYOUT_MAX_NODES) return Promise.resolve(layoutGraphSync(input))
  return rpc.call(input)
}
