// Download a workflow version as a .yaml file: /workflows/<id>/export?version=<versionId> (default head).
import { attachmentHeaders, routeHandler } from '~/server/api/http'
import { exportWorkflow } from '~/server/library/workflows'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

export const GET = routeHandler<{ id: string }>(async ({ url, params, db }) => {
  const { fileName, yaml } = await exportWorkflow(db, { id: params.id, versionId: url.searchParams.get('version') })
  return new Response(yaml, { headers: attachmentHeaders(fileName, 'application/yaml; charset=utf-8') })
})
