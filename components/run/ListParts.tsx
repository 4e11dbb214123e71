/**
 * The parts the run views' lists (runs, a run's tasks, a run's log) share below their filter bar
 * (components/ui/FilterBar.tsx): the row a table shows when nothing matches, and the pager under it.
 */
import type { ReactNode } from 'react'
import type { FilterField } from '~/components/ui/FilterBar'

/** one row across the table, in muted text: "no runs yet", "no task matches the filters" */
export function EmptyRow({
  columns,
  className,
  children,
}: {
  columns: number
  className?: string
  children: ReactNode
}) {
  return (
    <tr>
      <td colSpan={columns} className={`muted${className ? ` ${className}` : ''}`}>
        {children}
      </td>
    </tr>
  )
}

export interface PagerStep {
  label: string
  disabled: boolean
  onClick(): void
}

/** `back` and `forward` buttons (either may be absent) around a status line, and "…" while the list re-reads */
export function Pager({
  back,
  forward,
  busy = false,
  testId,
  children,
}: {
  back?: PagerStep
  forward?: PagerStep
  busy?: boolean
  testId: string
  children: ReactNode
}) {
  return (
    <div className="tt-pager">
      {back ? <PagerButton step={back} /> : null}
      <span className="muted" data-testid={testId}>
        {children}
      </span>
      {forward ? <PagerButton step={forward} /> : null}
      {busy ? <span className="muted">…</span> : null}
    </div>
  )
}

function PagerButton({ step }: { step: PagerStep }) {
  return (
    <button type="button" disabled={step.disabled} onClick={step.onClick}>
      {step.label}
    </button>
  )
}

/** the filter-bar select of a run's stages (the task table and the run log both filter by it) */
export function stageField(value: string, stages: readonly { id: string }[], testId: string): FilterField {
  return { kind: 'select', name: 'stage', label: 'stage', value, testId, options: stages.map((s) => ({ value: s.id })) }
}

/** the filter-bar select of a run's pools */
export function poolField(value: string, pools: readonly { name: string }[], testId: string): FilterField {
  return { kind: 'select', name: 'pool', label: 'pool', value, testId, options: pools.map((p) => ({ value: p.name })) }
}
