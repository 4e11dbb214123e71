/**
 * What the two read-only graphs, the composer's PipelineGraph and the run page's RunGraph, set alike
 * on React Flow. React Flow itself drags, connects, selects and focuses nothing: each graph is one
 * tab stop with its own arrow-key navigation (keyboardNav.ts). They share the zoom range, the dark
 * theme, the background grid and the zoom controls.
 */
import { Background, Controls, type ReactFlowProps } from '@xyflow/react'

export const READ_ONLY_FLOW = {
  nodesDraggable: false,
  nodesConnectable: false,
  elementsSelectable: false,
  nodesFocusable: false,
  edgesFocusable: false,
  minZoom: 0.03,
  maxZoom: 2,
  proOptions: { hideAttribution: true },
  colorMode: 'dark',
} as const satisfies Partial<ReactFlowProps>

/** the background grid and the zoom buttons (no lock button: nothing is editable) */
export function FlowChrome() {
  return (
    <>
      <Background gap={24} size={1} color="#262b36" />
      <Controls showInteractive={false} position="bottom-left" />
    </>
  )
}
