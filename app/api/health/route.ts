// Liveness probe for start scripts and Playwright's webServer: answers without authentication
// and reveals nothing but that the server is up.
export const dynamic = 'force-dynamic'

export function GET() {
  return Response.json({ ok: true })
}
