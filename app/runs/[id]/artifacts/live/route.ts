// The physics of a hep stage so far (merged from the partitions finished) or final:
//   /runs/<runId>/artifacts/live?stage=S&dataset=D&histogram=H&format=svg|png|uhi|json
//   /runs/<runId>/artifacts/live?stage=S&dataset=D&format=json|html           (the stage's cutflow)
// ?download=1 sends it as an attachment. The file name and the x-hep-partitions header say how many
// partitions the result includes. Access: checked by /proxy.ts and again here.
import { authenticate } from '~/server/auth/core'
import { currentDbUrl, getDb, migrateDatabase } from '~/server/db/client'
import { LIVE_FORMATS, type LiveFormat, liveHepFile } from '~/server/execution/hep-artifacts'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

const json = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status, headers: { 'cache-control': 'no-store' } })

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const auth = authenticate(req)
  if (!auth.ok) return json(401, 'UNAUTHORIZED', auth.message)
  const { id: runId } = await params
  const q = new URL(req.url).searchParams
  const stage = q.get('stage')
  const dataset = q.get('dataset')
  const histogram = q.get('histogram') ?? undefined
  const format = (q.get('format') ?? (histogram ? 'svg' : 'json')) as LiveFormat
  if (!stage || !dataset) return json(400, 'BAD_REQUEST', 'give ?stage=<stage id>&dataset=<dataset name>')
  if (!LIVE_FORMATS.includes(format))
    return json(400, 'BAD_REQUEST', `format '${format}' is not one of ${LIVE_FORMATS.join(', ')}`)
  await migrateDatabase(currentDbUrl())
  let file: Awaited<ReturnType<typeof liveHepFile>>
  try {
    file = await liveHepFile(getDb(), runId, { stage, dataset, histogram, format })
  } catch (e) {
    return json(400, 'BAD_REQUEST', (e as Error).message)
  }
  if (!file)
    return json(
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
}
