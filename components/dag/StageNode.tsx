'use client'

import { createContext, memo, useContext } from 'react'
import { Handle, Position, useStore, type Node, type NodeProps, type ReactFlowState } from '@xyflow/react'
import type { GraphNodeData } from './types'

export type StageFlowNode = Node<GraphNodeData & Record<string, unknown>, 'stage'>

/** Below this zoom, nodes render as plain coloured boxes with the id only (cheap DOM, readable overview). */
export const DETAIL_ZOOM = 0.45
const zoomedOut = (s: ReactFlowState) => s.transform[2] < DETAIL_ZOOM

/** The graph's prefix for its nodes' DOM ids (the graph points aria-activedescendant at them). */
export const NodeDomIds = createContext('dag')
export const nodeDomId = (prefix: string, id: string) => `${prefix}-node-${encodeURIComponent(id)}`

const STATE_LABEL: Record<string, string> = {
  pending: 'pending',
  queued: 'queued',
  running: 'running',
  succeeded: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
  retrying: 'retrying',
  lost: 'lost',
}

function StageNodeImpl({ data, selected }: NodeProps<StageFlowNode>) {
  const far = useStore(zoomedOut)
  const domPrefix = useContext(NodeDomIds)
  const group = data.group
  const cls =
    'stage-node' +
    (group ? ' is-group' : '') +
    (selected ? ' is-selected' : '') +
    (data.marker ? ` has-${data.marker}` : '') +
    (data.state ? ` state-${data.state}` : '') +
    (far ? ' is-far' : '')
  return (
    // biome-ignore lint/a11y/useSemanticElements: the graph (one tab stop) points at it with aria-activedescendant; its name is its visible text
    <div
      id={nodeDomId(domPrefix, data.id)}
      role="button"
      tabIndex={-1}
      className={cls}
      data-testid={group ? `dag-group-${group.first}` : `dag-node-${data.id}`}
      data-count={group?.count}
      data-pool={data.pool}
      data-color={data.color}
      data-marker={data.marker ?? undefined}
      data-state={data.state}
      style={{ borderColor: data.color, ['--pool' as string]: data.color }}
      title={data.markerText || undefined}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} className="sn-handle" />
      <div className="sn-head">
        <span className="sn-swatch" style={{ background: data.color }} />
        {group ? (
          <>
            <span className="sn-id">
              {group.first} … {group.last}
            </span>
            <span className="sn-count" title={`${group.count} parallel chains, ${group.stages} stages`}>
              ×{group.count}
            </span>
          </>
        ) : (
          <span className="sn-id">{data.id}</span>
        )}
        {data.marker ? (
          <span
            role="img"
            className={`sn-marker ${data.marker}`}
            data-testid={`dag-marker-${data.id}`}
            aria-label={data.marker}
          >
            {data.marker === 'error' ? '✖' : '▲'}
          </span>
        ) : null}
        {data.state ? <span className={`sn-state ${data.state}`}>{STATE_LABEL[data.state] ?? data.state}</span> : null}
      </div>
      {far ? null : (
        <>
          <div className="sn-op">{data.op}</div>
          <div className="sn-route">
            <span className="sn-pool" style={{ color: data.color }}>
              {data.pool}
            </span>
            {data.routing ? (
              <span className={`sn-why${data.decision === 'fallback' ? ' fallback' : ''}`}>{data.routing}</span>
            ) : null}
          </div>
          {data.badges?.length ? (
            <div className="sn-badges">
              {data.badges.map((b) => (
                <span key={b} className="sn-badge">
                  {b}
                </span>
              ))}
            </div>
          ) : null}
        </>
      )}
      {data.progress && data.progress.total > 0 ? (
        <div className="sn-progress" title={`${data.progress.done}/${data.progress.total}`}>
          <span style={{ width: `${Math.round((100 * data.progress.done) / data.progress.total)}%` }} />
          {data.progress.failed ? (
            <span
              className="failed"
              style={{ width: `${Math.round((100 * data.progress.failed) / data.progress.total)}%` }}
            />
          ) : null}
        </div>
      ) : null}
      <Handle type="source" position={Position.Right} isConnectable={false} className="sn-handle" />
    </div>
  )
}

export const StageNode = memo(StageNodeImpl)

/** Defined once, outside components (React Flow re-mounts nodes when this object changes). */
export const nodeTypes = { stage: StageNode }
