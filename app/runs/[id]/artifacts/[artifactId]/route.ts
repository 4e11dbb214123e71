// An artifact of a run (histogram JSON, SVG plot, cutflow table): /runs/<runId>/artifacts/<artifactId>
// ?download=1 sends it as an attachment.
import { Readable } from 'node:stream'
import { errorResponse, routeHandler } from '~/server/api/http'
import { artifactFile } from '~/server/execution/hep-artifacts'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

export const GET = routeHandler<{ id: string; artifactId: string }>(async ({ url, params, db }) => {
  const a = await artifactFile(db, params.id, params.artifactId)
  if (!a) return errorResponse(404, 'NOT_FOUND', `artifact ${params.artifactId} of run ${params.id} not found`)
  const download = url.searchParams.has('download')
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
  // the file opened without following a link (artifactFile): a link swapped in since is not read
  return new Response(Readable.toWeb(a.fh.createReadStream()) as ReadableStream<Uint8Array>, { headers })
})
