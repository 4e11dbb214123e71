import { WorkflowDetail } from '~/components/library/WorkflowDetail'

export const dynamic = 'force-dynamic'
export const metadata = { title: 'Workflow · Control Room' }

export default async function WorkflowPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params
  return <WorkflowDetail id={id} />
}
