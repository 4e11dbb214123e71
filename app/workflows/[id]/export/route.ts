// Download a workflow version as a .yaml file: /workflows/<id>/export?version=<versionId> (default head).
import { authenticate } from '~/server/auth/core'
import { currentDbUrl, getDb, migrateDatabase } from '~/server/db/client'
import { exportWorkflow } from '~/server/library/workflows'
import { isDomainError } from '~/server/errors'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const auth = authenticate(req) // also checked by /proxy.ts
  if (!auth.ok) return Response.json({ error: { code: 'UNAUTHORIZED', message: auth.message } }, { status: 401 })
  const { id } = await params
  const version = new URL(req.url).searchParams.get('version')
  await migrateDatabase(currentDbUrl())
  try {
    const { fileName, yaml } = await exportWorkflow(getDb(), { id, versionId: version })
    return new Response(yaml, {
      headers: {
        'content-type': 'application/yaml; charset=utf-8',
        'content-disposition': `attachment; filename="${fileName.replace(/["\\\r\n]/g, '_')}"`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
    })
  } catch (e) {
    if (isDomainError(e)) {
      const status = e.domainCode === 'NOT_FOUND' ? 404 : 400
      return Response.json({ error: { code: e.domainCode, message: e.message } }, { status })
    }
    throw e
  }
}
