// tRPC over HTTP (queries: GET, mutations: POST, subscriptions: SSE GET). The access check runs in
// /proxy.ts and again in every procedure (server/api/trpc.ts).
import { fetchRequestHandler } from '@trpc/server/adapters/fetch'
import { appRouter } from '~/server/api/root'
import { createContext } from '~/server/api/trpc'

export const dynamic = 'force-dynamic'
export const runtime = 'nodejs'

/** Bodies above this are refused before parsing (workflows are ≤ 1 MiB; base64 adds a third). */
const MAX_BODY_BYTES = 8 * 1024 * 1024

function handler(req: Request) {
  const len = Number(req.headers.get('content-length') ?? 0)
  if (len > MAX_BODY_BYTES) {
    return Response.json(
      { error: { code: 'PAYLOAD_TOO_LARGE', message: `request body is ${len} bytes; the limit is ${MAX_BODY_BYTES}` } },
      { status: 413 },
    )
  }
  // CSRF: a form or a "simple" cross-site request cannot send application/json without a preflight.
  if (req.method === 'POST' && !(req.headers.get('content-type') ?? '').toLowerCase().startsWith('application/json')) {
    return Response.json(
      { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'changes must be sent as application/json' } },
      { status: 415 },
    )
  }
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: ({ req, resHeaders }) => createContext({ req, resHeaders }),
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`[trpc] ${path ?? '?'}:`, error.cause ?? error)
    },
  })
}

export { handler as GET, handler as POST }
