'use client'

import { memo, useState } from 'react'
import type { GraphLegendPool } from './types'

/** Pool colour key: name, workers, per-worker resources, and how many stages each pool serves. */
export const PoolLegend = memo(function PoolLegend({ pools }: { pools: GraphLegendPool[] }) {
  const [open, setOpen] = useState(true)
  return (
    <div className="pool-legend" data-testid="pool-legend">
      <button type="button" className="pool-legend-toggle" onClick={() => setOpen((o) => !o)} aria-expanded={open}>
        Pools {open ? '▾' : '▸'}
      </button>
      {open ? (
        <ul>
          {pools.map((p) => (
            <li key={p.name} data-testid={`legend-pool-${p.name}`} data-pool={p.name} data-color={p.color}>
              <span className="swatch" style={{ background: p.color }} />
              <span className="name">
                {p.name}
                {p.implicit ? <span className="muted"> (implicit)</span> : null}
              </span>
              <span className="res muted">
                {p.workers}× {p.cpus} cpu{p.memory ? ` · ${p.memory}` : ''}
                {p.gpus ? ` · ${p.gpus} gpu` : ''}
              </span>
              <span className="count" title="stages routed to this pool">
                {p.stages} stage{p.stages === 1 ? '' : 's'}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  )
})
