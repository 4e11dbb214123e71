import type { ExecutionPlan, Problem } from '~/server/workflow'
import { formatBytes } from '~/server/workflow'

// A static rendering of an execution plan: where every stage runs and why. Works in server components.
export function PlanSummary({ plan, problems }: { plan: ExecutionPlan; problems: Problem[] }) {
  return (
    <div className="plan-summary" data-testid="plan-summary">
      <p>
        backend <code>{plan.backend}</code> · strategy <code>{plan.strategy}</code> · environment{' '}
        <code>{plan.environment.type}</code> · plan <code title={plan.hash}>{plan.hash.slice(0, 12)}</code>
      </p>
      <h3>Pools</h3>
      <table>
        <thead>
          <tr>
            <th>pool</th>
            <th>workers</th>
            <th>cpus</th>
            <th>memory</th>
            <th>gpus</th>
            <th>stages</th>
          </tr>
        </thead>
        <tbody>
          {plan.pools.map((p) => (
            <tr key={p.name}>
              <td>
                {p.name}
                {p.implicit ? ' (implicit)' : ''}
              </td>
              <td>{p.workers}</td>
              <td>{p.resources.cpus}</td>
              <td>{p.resources.memoryBytes == null ? '—' : formatBytes(p.resources.memoryBytes)}</td>
              <td>{p.resources.gpus}</td>
              <td>{p.stages.length}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Stages</h3>
      <table>
        <thead>
          <tr>
            <th>stage</th>
            <th>op</th>
            <th>needs</th>
            <th>pool</th>
            <th>why</th>
          </tr>
        </thead>
        <tbody>
          {plan.stages.map((s) => (
            <tr key={s.id} data-testid={`plan-stage-${s.id}`}>
              <td>{s.id}</td>
              <td>
                <code>{s.op}</code>
              </td>
              <td>{s.needs.join(', ') || '—'}</td>
              <td>{s.pool}</td>
              <td className="muted">{s.routing.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {problems.length > 0 && (
        <>
          <h3>Problems</h3>
          <ul>
            {problems.map((p, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: pre-existing: review when this component is next changed
              <li key={i} className={p.severity}>
                {p.range.start.line}:{p.range.start.col} {p.severity} {p.code}: {p.message}
                {p.hint ? <span className="muted"> ({p.hint})</span> : null}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  )
}
