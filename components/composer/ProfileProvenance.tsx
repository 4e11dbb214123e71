'use client'
/**
 * Where the plan's execution settings came from when the workflow selects profiles (use.profiles):
 * the layers, lowest first, and the layer that set each value (the plan's `provenance`).
 */
import type { ExecutionPlan } from '~/server/workflow'

export function ProfileProvenance({ plan }: { plan: ExecutionPlan }) {
  const p = plan.provenance
  if (!p) return null
  const values = Object.entries(p.values)
  return (
    <section className="profile-provenance" data-testid="profile-provenance">
      <h4>Settings by layer</h4>
      <p className="muted" data-testid="profile-layers">
        {p.layers.map((l) => l.name).join(' < ')} (a later layer wins; an override given at run time wins over all)
      </p>
      {values.length ? (
        <table>
          <thead>
            <tr>
              <th>setting</th>
              <th>from</th>
            </tr>
          </thead>
          <tbody>
            {values.map(([k, from]) => (
              <tr key={k} data-testid="provenance-row" data-key={k} data-from={from}>
                <td className="mono">{k}</td>
                <td className="mono">{from}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">The profiles set no execution value.</p>
      )}
    </section>
  )
}
