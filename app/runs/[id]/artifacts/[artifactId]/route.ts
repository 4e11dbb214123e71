// An artifact of a run (histogram JSON, SVG plot, cutflow table): /runs/<runId>/artifacts/<artifactId>
// ?download=1 sends it as an attachment. Access: checked by /proxy.ts and again here.
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { authenticate } from '~/server/auth/core'
import { currentDbUrl, getDb, migrateDatabase } from '~/server/db/client'
import { artifactFile } from '~/server/execution/hep-artifacts'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

const json = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status, headers: { 'cache-control': 'no-store' } })

export async function GET(req: Request, { params }: { params: Promise<{ id: string; artifactId: string }> }) {
  const auth = authenticate(req)
  if (!auth.ok) return json(401, 'UNAUTHORIZED', auth.message)
  const { id: runId, artifactId } = await params
  await migrateDatabase(currentDbUrl())
  const a = await artifactFile(getDb(), runId, artifactId)
  if (!a) return json(404, 'NOT_FOUND', `artifact ${artifactId} of run ${runId} not found`)
  const download = new URL(req.url).searchParams.has('download')
  const name = a.name.replace(/[^\w.-]/g, '_')
  const headers: Record<string, string> = {
    'content-type':
      a.mime.startsWith('text/') || a.mime === 'image/svg+xml' || a.mime === 'application/json'
        ? `${a.mime}; charset=utf-8`
        : a.mime,
    'content-disposition': `${download ? 'attachment' : 'inline'}; filename="${name}"`,
    'cache-control': 'private, max-age=60',
    'x-content-type-options': 'nosniff',
    // plots are shown with <img>; scripts in a (malicious) SVG or HTML never run
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  }
  const body = Readable.toWeb(createReadStream(a.file)) as ReadableStream<Uint8Array>
  return new Response(body, { headers })
}
