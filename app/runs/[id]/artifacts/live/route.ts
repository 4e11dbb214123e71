// The physics of a hep stage so far (merged from the partitions finished) or final:
//   /runs/<runId>/artifacts/live?stage=S&dataset=D&histogram=H&format=svg|png|uhi|json
//   /runs/<runId>/artifacts/live?stage=S&dataset=D&format=json|html           (the stage's cutflow)
// ?download=1 sends it as an attachment. The file name and the x-hep-partitions header say how many
// partitions the result includes (see server/hep/README.md).
import { errorResponse, routeHandler } from '~/server/api/http'
import { LIVE_FORMATS, type LiveFormat, liveHepFile } from '~/server/execution/hep-artifacts'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

export const GET = routeHandler<{ id: string }>(async ({ url, params, db }) => {
  const runId = params.id
  const q = url.searchParams
  const stage = q.get('stage')
  const dataset = q.get('dataset')
  const histogram = q.get('histogram') ?? undefined
  const format = (q.get('format') ?? (histogram ? 'svg' : 'json')) as LiveFormat
  if (!stage || !dataset) return errorResponse(400, 'BAD_INPUT', 'give ?stage=<stage id>&dataset=<dataset name>')
  if (!LIVE_FORMATS.includes(format))
    return errorResponse(400, 'BAD_INPUT', `format '${format}' is not one of ${LIVE_FORMATS.join(', ')}`)
  let file: Awaited<ReturnType<typeof liveHepFile>>
  try {
    file = await liveHepFile(db, runId, { stage, dataset, histogram, format })
  } catch (e) {
    return errorResponse(400, 'BAD_INPUT', (e as Error).message)
  }
  if (!file)
    return errorResponse(
      404,
      'NOT_FOUND',
      `no results yet for ${histogram ? `histogram ${histogram} of ` : 'the cutflow of '}stage ${stage}, dataset ${dataset} in run ${runId}`,
    )
  const name = file.name.replace(/[^\w.-]/g, '_')
  const textual = file.mime !== 'image/png'
  const headers: Record<string, string> = {
    'content-type': textual ? `${file.mime}; charset=utf-8` : file.mime,
    'content-disposition': `${q.has('download') ? 'attachment' : 'inline'}; filename="${name}"`,
    // partial results change as partitions finish
    'cache-control': 'no-store',
    'x-hep-partitions': `${file.included}/${file.total}`,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  }
  const body = typeof file.body === 'string' ? file.body : new Uint8Array(file.body)
  return new Response(body, { headers })
})
