export { PipelineGraph, type PipelineGraphProps } from './PipelineGraph'
export { PoolLegend } from './PoolLegend'
export { assignPoolColors, poolColor, POOL_PALETTE } from './palette'
export {
  layoutGraph,
  quickLayout,
  structureKey,
  provisionalPositions,
  type LayoutInput,
  type LayoutResult,
} from './layout'
export * from './types'
