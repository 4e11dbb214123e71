import { RunPage } from '~/components/run/RunPage'

export const dynamic = 'force-dynamic'
export const metadata = { title: 'Run · Control Room' }

export default async function RunRoute({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params
  return <RunPage runId={id} />
}
