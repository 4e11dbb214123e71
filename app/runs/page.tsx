import { RunsList } from '~/components/run/RunsList'

export const dynamic = 'force-dynamic'
export const metadata = { title: 'Runs · Control Room' }

type Search = Record<string, string | string[] | undefined>
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? ''

/** /runs?workflow=<id>&state=<state>&backend=<backend>&strategy=<strategy>&owner=<name>&q=<search> */
export default async function RunsPage({ searchParams }: { searchParams: Promise<Search> }) {
  const sp = await searchParams
  return (
    <RunsList
      initial={{
        workflow: one(sp.workflow),
        state: one(sp.state),
        backend: one(sp.backend),
        strategy: one(sp.strategy),
        owner: one(sp.owner),
        q: one(sp.q),
      }}
    />
  )
}
