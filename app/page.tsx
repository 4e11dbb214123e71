import Link from 'next/link'
import { compileWorkflow } from '~/server/workflow'
import { listExamples, loadExample } from '~/server/examples'
import { PlanSummary } from '~/components/plan/PlanSummary'

export const dynamic = 'force-dynamic'

// Home: the compiled plan of the bundled quick-start example, and the way into the composer.
export default async function HomePage() {
  const example = await loadExample('local-quickstart')
  const { plan, problems } = compileWorkflow(example.source, { fileName: example.fileName })
  return (
    <div className="page">
      <h1>Control Room</h1>
      <p className="muted">
        Compose FAST-HEP workflows, see where every stage will run, dispatch them to this machine, Slurm, HTCondor or
        Dask, and watch them live.
      </p>
      <p>
        <Link href="/compose">Open the composer</Link> · <Link href="/workflows">Workflows</Link> ·{' '}
        <Link href="/runs">Runs</Link>
      </p>
      <h2>Example: {example.title}</h2>
      <pre className="example-source" data-testid="example-source">
        {example.source}
      </pre>
      {plan ? <PlanSummary plan={plan} problems={problems} /> : <p className="error">The example does not compile.</p>}
      <h2>More examples</h2>
      <ul>
        {listExamples().map((e) => (
          <li key={e.id}>
            <Link href={`/compose?example=${e.id}`}>{e.title}</Link> <span className="muted">{e.description}</span>
          </li>
        ))}
      </ul>
    </div>
  )
}
