import { WorkflowLibrary } from '~/components/library/WorkflowLibrary'

export const dynamic = 'force-dynamic'
export const metadata = { title: 'Workflows · Control Room' }

export default function WorkflowsPage() {
  return <WorkflowLibrary />
}
