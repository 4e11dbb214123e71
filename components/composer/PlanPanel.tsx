'use client'

import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react'
import { ProfileProvenance } from './ProfileProvenance'
import type { CompileResult, ExecutionPlan, Problem } from '~/server/workflow'
import { formatMemory } from './planGraph'
import { CopyButton } from '~/components/ui/CopyButton'
import { ProblemList } from '~/components/plan/ProblemList'
import { SubmissionPreview } from './SubmissionPreview'

export type PlanTab = 'routing' | 'pools' | 'problems' | 'json' | 'submission'

export interface PlanPanelProps {
  plan: ExecutionPlan | null
  problems: readonly Problem[]
  colors: Record<string, string>
  /** the plan shown is the last good one (the source does not parse now) */
  stale: boolean
  compileMs: number
  onProblemClick(p: Problem): void
  onStageClick(id: string): void
  tab: PlanTab
  onTab(tab: PlanTab): void
  /** the YAML being edited (the Submission tab previews it) */
  source?: string
}

/** What will be dispatched: backend/strategy, pools, where every stage runs and why, problems, the plan JSON. */
export const PlanPanel = memo(function PlanPanel(props: PlanPanelProps) {
  const { plan, problems, colors, stale, compileMs, tab, onTab } = props
  const errors = problems.filter((p) => p.severity === 'error').length
  const warnings = problems.length - errors
  return (
    <section className="plan-panel" data-testid="plan-panel">
      <div className="plan-panel-head">
        <div className="tabs" role="tablist">
          <TabButton id="routing" tab={tab} onTab={onTab}>
            Routing
          </TabButton>
          <TabButton id="pools" tab={tab} onTab={onTab}>
            Pools
          </TabButton>
          <TabButton id="problems" tab={tab} onTab={onTab}>
            Problems{' '}
            <span className={`count${errors ? ' error' : warnings ? ' warning' : ''}`} data-testid="problem-count">
              {errors} ✖ {warnings} ▲
            </span>
          </TabButton>
          <TabButton id="json" tab={tab} onTab={onTab}>
            Plan JSON
          </TabButton>
          <TabButton id="submission" tab={tab} onTab={onTab}>
            Submission
          </TabButton>
        </div>
        {plan ? (
          <div className="plan-facts" data-testid="plan-facts">
            backend <code data-testid="plan-backend">{plan.backend}</code> · strategy{' '}
            <code data-testid="plan-strategy">{plan.strategy}</code> · env <code>{plan.environment?.type}</code> ·{' '}
            {plan.stages.length} stages · {plan.pools.length} pools · plan{' '}
            <code title={plan.hash}>{plan.hash?.slice(0, 10)}</code>
            {stale ? <span className="warning"> · last good plan</span> : null}
            <span className="muted"> · compiled in {compileMs.toFixed(1)} ms</span>
          </div>
        ) : null}
      </div>
      <div className="plan-panel-body">
        {tab === 'routing' ? <RoutingTable plan={plan} colors={colors} onStageClick={props.onStageClick} /> : null}
        {tab === 'pools' ? <PoolsTable plan={plan} colors={colors} /> : null}
        {tab === 'pools' && plan ? <ProfileProvenance plan={plan} /> : null}
        {tab === 'problems' ? (
          <ProblemList problems={problems} onProblemClick={props.onProblemClick} emptyText="No problems." />
        ) : null}
        {tab === 'json' ? <PlanJson plan={plan} /> : null}
        {tab === 'submission' ? (
          props.source != null ? (
            <SubmissionPreview source={props.source} />
          ) : (
            <p className="muted">No source to preview.</p>
          )
        ) : null}
      </div>
    </section>
  )
})

function TabButton({
  id,
  tab,
  onTab,
  children,
}: {
  id: PlanTab
  tab: PlanTab
  onTab(t: PlanTab): void
  children: React.ReactNode
}) {
  return (
    <button
      type="button"
      role="tab"
      aria-selected={tab === id}
      className={tab === id ? 'active' : ''}
      data-testid={`plan-tab-${id}`}
      onClick={() => onTab(id)}
    >
      {children}
    </button>
  )
}

const ROW_HEIGHT = 23
/** Above this many stages the routing table renders only the rows in view. */
const WINDOW_ABOVE = 150

function RoutingTable({
  plan,
  colors,
  onStageClick,
}: {
  plan: ExecutionPlan | null
  colors: Record<string, string>
  onStageClick(id: string): void
}) {
  const [range, setRange] = useState({ first: 0, count: 60 })
  const stages = useMemo(() => (plan ? [...plan.stages].sort((a, b) => a.index - b.index) : []), [plan])
  // Keyboard: the rows are one tab stop (roving tabindex); ↑/↓ (PageUp/PageDown, Home/End) move, Enter
  // (or Space) acts as a click. The row to focus after a move, once it is rendered.
  const [focusId, setFocusId] = useState<string | null>(null)
  const pendingFocus = useRef<string | null>(null)
  const tableRef = useRef<HTMLTableElement | null>(null)
  const windowed = stages.length > WINDOW_ABOVE
  const first = windowed ? Math.max(0, Math.min(range.first, stages.length - range.count)) : 0
  const shown = windowed ? stages.slice(first, first + range.count) : stages
  const tabStop = shown.some((s) => s.id === focusId) ? focusId : (shown[0]?.id ?? null)
  useEffect(() => {
    const id = pendingFocus.current
    const table = tableRef.current
    if (!id || !table) return
    const row = table.querySelector<HTMLElement>(`tr[data-stage="${CSS.escape(id)}"]`)
    if (row) {
      pendingFocus.current = null
      row.focus()
      row.scrollIntoView({ block: 'nearest' })
      return
    }
    // not rendered (outside the window): scroll to it; the window follows and this runs again
    const body = table.closest('.plan-panel-body') as HTMLElement | null
    const at = stages.findIndex((s) => s.id === id)
    if (body && at >= 0) body.scrollTop = Math.max(0, (at - 3) * ROW_HEIGHT)
  })
  if (!plan) return <p className="muted">No plan.</p>
  const onKey = (ev: KeyboardEvent<HTMLTableSectionElement>) => {
    const id = (ev.target as HTMLElement).closest('tr')?.dataset.stage
    if (!id) return
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault()
      onStageClick(id)
      return
    }
    const at = stages.findIndex((s) => s.id === id)
    const page = Math.max(1, range.count - 20)
    const to =
      ev.key === 'ArrowDown'
        ? at + 1
        : ev.key === 'ArrowUp'
          ? at - 1
          : ev.key === 'PageDown'
            ? at + page
            : ev.key === 'PageUp'
              ? at - page
              : ev.key === 'Home'
                ? 0
                : ev.key === 'End'
                  ? stages.length - 1
                  : null
    if (to === null) return
    ev.preventDefault()
    const next = stages[Math.max(0, Math.min(stages.length - 1, to))]
    if (!next) return
    pendingFocus.current = next.id
    setFocusId(next.id)
    if (next.id === id) pendingFocus.current = null
  }
  const onScroll = (e: React.UIEvent<HTMLElement>) => {
    const body = (e.currentTarget.closest('.plan-panel-body') ?? e.currentTarget) as HTMLElement
    const f = Math.max(0, Math.floor(body.scrollTop / ROW_HEIGHT) - 10)
    const c = Math.ceil(body.clientHeight / ROW_HEIGHT) + 20
    if (f !== range.first || c !== range.count) setRange({ first: f, count: c })
  }
  return (
    <table
      className="routing-table"
      data-testid="routing-table"
      aria-label="Where every stage runs: ↑/↓ move, Enter shows the stage in the editor"
      ref={(el) => {
        tableRef.current = el
        attachScroll(el, onScroll)
      }}
    >
      <thead>
        <tr>
          <th>stage</th>
          <th>op</th>
          <th>pool</th>
          <th>decision</th>
          <th>modifiers</th>
          <th>why</th>
        </tr>
      </thead>
      <tbody onKeyDown={onKey}>
        {windowed && first > 0 ? (
          <tr style={{ height: first * ROW_HEIGHT }} aria-hidden>
            <td colSpan={6} />
          </tr>
        ) : null}
        {shown.map((s) => (
          <RoutingRow
            key={s.id}
            id={s.id}
            op={s.op}
            pool={s.pool}
            color={colors[s.pool]}
            decision={s.routing.decision}
            modifiers={s.modifiers.map((m) => m.name).join(', ')}
            reason={s.routing.reason}
            tabStop={s.id === tabStop}
            onFocus={setFocusId}
            onStageClick={onStageClick}
          />
        ))}
        {windowed && first + shown.length < stages.length ? (
          <tr style={{ height: (stages.length - first - shown.length) * ROW_HEIGHT }} aria-hidden>
            <td colSpan={6} />
          </tr>
        ) : null}
      </tbody>
    </table>
  )
}

/** Listens to the scrolling panel body around the table (replacing the previous listener). */
function attachScroll(table: HTMLElement | null, onScroll: (e: React.UIEvent<HTMLElement>) => void) {
  if (!table) return
  const body = table.closest('.plan-panel-body') as (HTMLElement & { __rt?: (e: Event) => void }) | null
  if (!body) return
  if (body.__rt) body.removeEventListener('scroll', body.__rt)
  body.__rt = (e: Event) => onScroll(e as unknown as React.UIEvent<HTMLElement>)
  body.addEventListener('scroll', body.__rt, { passive: true })
}

/** One routing row; memoised on its (primitive) props, so a re-plan re-renders only rows that changed. */
const RoutingRow = memo(function RoutingRow(p: {
  id: string
  op: string
  pool: string
  color: string | undefined
  decision: string
  modifiers: string
  reason: string
  /** the row Tab lands on in the table */
  tabStop: boolean
  onFocus(id: string): void
  onStageClick(id: string): void
}) {
  return (
    <tr
      data-testid={`routing-${p.id}`}
      data-stage={p.id}
      tabIndex={p.tabStop ? 0 : -1}
      onFocus={() => p.onFocus(p.id)}
      onClick={() => p.onStageClick(p.id)}
    >
      <td className="mono">{p.id}</td>
      <td className="mono">{p.op}</td>
      <td>
        <span className="swatch" style={{ background: p.color }} /> {p.pool}
      </td>
      <td className={p.decision === 'fallback' ? 'warning' : ''}>{p.decision}</td>
      <td>{p.modifiers}</td>
      <td className="muted">{p.reason}</td>
    </tr>
  )
})

function PoolsTable({ plan, colors }: { plan: ExecutionPlan | null; colors: Record<string, string> }) {
  if (!plan) return <p className="muted">No plan.</p>
  return (
    <table data-testid="pools-table">
      <thead>
        <tr>
          <th>pool</th>
          <th>workers</th>
          <th>cpus</th>
          <th>memory</th>
          <th>gpus</th>
          <th>disk</th>
          <th>class</th>
          <th>config</th>
          <th>stages</th>
        </tr>
      </thead>
      <tbody>
        {plan.pools.map((p) => (
          <tr key={p.name} data-testid={`pool-row-${p.name}`}>
            <td>
              <span className="swatch" style={{ background: colors[p.name] }} /> {p.name}
              {p.implicit ? <span className="muted"> (implicit)</span> : null}
            </td>
            <td>{p.workers}</td>
            <td>{p.resources.cpus}</td>
            <td>{formatMemory(p.resources.memoryBytes) ?? '—'}</td>
            <td>{p.resources.gpus}</td>
            <td>{formatMemory(p.resources.diskBytes) ?? '—'}</td>
            <td>{p.resourceClass ?? '—'}</td>
            <td className="mono small">{Object.keys(p.config ?? {}).length ? JSON.stringify(p.config) : '—'}</td>
            <td>{p.stages.length}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function PlanJson({ plan }: { plan: ExecutionPlan | null }) {
  const json = useMemo(() => (plan ? JSON.stringify(plan, null, 2) : ''), [plan])
  if (!plan) return <p className="muted">No plan.</p>
  return (
    <div className="plan-json-wrap">
      <CopyButton text={json} testId="copy-plan-json" />
      <pre className="plan-json" data-testid="plan-json">
        {json}
      </pre>
    </div>
  )
}

export type { CompileResult }
