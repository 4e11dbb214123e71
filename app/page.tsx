import Link from 'next/link'
import { listExamples } from '~/server/examples'
import { Overview } from '~/components/overview/Overview'

export const dynamic = 'force-dynamic'

// Home: the control room. What runs now, what failed and where, the cluster beside the pools our
// workflows ask for, and the credentials (components/overview, live from overview.* procedures).
export default function HomePage() {
  return (
    <div className="page page-wide">
      <div className="ov-start">
        <h1>Control room</h1>
        <Link href="/compose">Compose a workflow</Link>
        <Link href="/workflows">Workflows</Link>
        <Link href="/runs">All runs</Link>
        <details className="ov-examples">
          <summary>Examples</summary>
          <ul>
            {listExamples().map((e) => (
              <li key={e.id}>
                <Link href={`/compose?example=${e.id}`}>{e.title}</Link> <span className="muted">{e.description}</span>
              </li>
            ))}
          </ul>
        </details>
      </div>
      <Overview />
    </div>
  )
}
