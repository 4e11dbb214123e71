'use client'
/**
 * Stage rows: one row per stage, or per group of stages (grouping.ts: fan-outs and chains) when
 * the run has more than a person can read, with counts by state and a progress bar; a group
 * expands one level on click. Rows are virtualised (a run of 2,000 stages expanded stays smooth).
 */
import { useVirtualizer } from '@tanstack/react-virtual'
import { memo, useMemo, useRef } from 'react'
import { progressOf, STATE_COLORS, TASK_STATE_ORDER } from './aggregate'
import { groupCounts, type StageGroup } from './grouping'

const ROW_PX = 30
const SEGMENTS = ['succeeded', 'failed', 'lost', 'cancelled', 'skipped', 'running', 'retrying', 'queued'] as const

interface Row {
  group: StageGroup
  depth: number
}

export interface StageRowsProps {
  groups: readonly StageGroup[]
  stageCounts: Readonly<Record<string, Readonly<Record<string, number>>>>
  expanded: ReadonlySet<string>
  onToggle: (groupId: string) => void
  selectedStage: string | null
  onSelectStage: (id: string | null) => void
}

function flatten(groups: readonly StageGroup[], expanded: ReadonlySet<string>): Row[] {
  const out: Row[] = []
  const walk = (g: StageGroup, depth: number) => {
    out.push({ group: g, depth })
    if (g.kind !== 'stage' && expanded.has(g.id)) for (const c of g.children) walk(c, depth + 1)
  }
  for (const g of groups) walk(g, 0)
  return out
}

export function StageRows({ groups, stageCounts, expanded, onToggle, selectedStage, onSelectStage }: StageRowsProps) {
  const rows = useMemo(() => flatten(groups, expanded), [groups, expanded])
  const scroller = useRef<HTMLDivElement>(null)
  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 12,
  })
  return (
    <section className="run-panel stage-rows" data-testid="stage-rows">
      <div className="panel-head">
        <h2>Stages</h2>
        <span className="muted">
          {groups.length === rows.length && groups.every((g) => g.kind === 'stage')
            ? `${groups.length} stage${groups.length === 1 ? '' : 's'}`
            : `${groups.reduce((n, g) => n + g.stages.length, 0)} stages in ${groups.length} row${groups.length === 1 ? '' : 's'}: click a group to expand it`}
        </span>
      </div>
      <div className="sr-scroll" ref={scroller} style={{ maxHeight: Math.min(rows.length, 12) * ROW_PX + 4 }}>
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((item) => {
            const row = rows[item.index]!
            return (
              <StageRow
                key={row.group.id}
                row={row}
                top={item.start}
                counts={groupCounts(row.group, stageCounts)}
                expanded={expanded.has(row.group.id)}
                selected={row.group.kind === 'stage' && row.group.id === selectedStage}
                onToggle={onToggle}
                onSelectStage={onSelectStage}
              />
            )
          })}
        </div>
      </div>
    </section>
  )
}

const StageRow = memo(function StageRow({
  row,
  top,
  counts,
  expanded,
  selected,
  onToggle,
  onSelectStage,
}: {
  row: Row
  top: number
  counts: Record<string, number>
  expanded: boolean
  selected: boolean
  onToggle: (id: string) => void
  onSelectStage: (id: string | null) => void
}) {
  const g = row.group
  const p = progressOf(counts)
  const isGroup = g.kind !== 'stage'
  const states = TASK_STATE_ORDER.filter((s) => counts[s])
  return (
    <button
      type="button"
      className={`sr-row${selected ? ' is-selected' : ''}`}
      style={{ top, height: ROW_PX, paddingLeft: 8 + row.depth * 16 }}
      data-testid={`stage-row-${g.id}`}
      data-kind={g.kind}
      data-done={p.done}
      data-total={p.total}
      data-stages={g.stages.length}
      aria-expanded={isGroup ? expanded : undefined}
      onClick={() => (isGroup ? onToggle(g.id) : onSelectStage(selected ? null : g.id))}
      title={isGroup ? `${g.stages.length} stages: click to ${expanded ? 'collapse' : 'expand'}` : 'show its tasks'}
    >
      <span className="sr-name">
        {isGroup ? <span className="sr-caret">{expanded ? '▾' : '▸'}</span> : null}
        {g.label}
        {isGroup ? <span className="muted"> ({g.stages.length} stages)</span> : null}
      </span>
      <span className="sr-bar" aria-hidden>
        {p.total
          ? SEGMENTS.map((s) =>
              counts[s] ? (
                <span key={s} style={{ width: `${(100 * counts[s]) / p.total}%`, background: STATE_COLORS[s] }} />
              ) : null,
            )
          : null}
      </span>
      <span className="sr-count" data-testid={`stage-row-count-${g.id}`}>
        {p.done}/{p.total}
      </span>
      <span className="sr-states">
        {states.map((s) => (
          <span key={s} className="sr-state" style={{ ['--state' as string]: STATE_COLORS[s] ?? '#888' }}>
            {counts[s]} {s}
          </span>
        ))}
      </span>
    </button>
  )
})
