import type { Metadata } from 'next'
import { listExamples, loadExample } from '~/server/examples'
import { ComposePage } from '~/components/composer/ComposePage'
import { ResumeBanner } from '~/components/run/FixAndResume'

export const dynamic = 'force-dynamic'
export const metadata: Metadata = { title: 'Compose · Control Room' }

const DEFAULT_EXAMPLE = 'local-quickstart'

export default async function Page({
  searchParams,
}: {
  searchParams: Promise<{
    example?: string | string[]
    workflow?: string | string[]
    version?: string | string[]
    resumeFrom?: string | string[]
  }>
}) {
  const sp = await searchParams
  const asked = typeof sp.example === 'string' ? sp.example : null
  const examples = listExamples().map((e) => ({ id: e.id, title: e.title, description: e.description, file: e.file }))
  const pick = examples.find((e) => e.id === asked) ?? examples.find((e) => e.id === DEFAULT_EXAMPLE) ?? examples[0]
  if (!pick) throw new Error('no example workflows found under examples/')
  const start = await loadExample(pick.id)
  const open =
    typeof sp.workflow === 'string' && sp.workflow
      ? { workflowId: sp.workflow, versionId: typeof sp.version === 'string' && sp.version ? sp.version : null }
      : null
  const resumeFrom = typeof sp.resumeFrom === 'string' && /^[\w-]{1,100}$/.test(sp.resumeFrom) ? sp.resumeFrom : null
  return (
    <>
      {resumeFrom ? <ResumeBanner runId={resumeFrom} /> : null}
      <ComposePage
        open={open}
        examples={examples}
        initial={{ id: start.id, fileName: start.fileName, source: start.source }}
        requested={pick.id === asked}
      />
    </>
  )
}
