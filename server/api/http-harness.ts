/**
 * Test harness (not a test): a real HTTP server that does what `next start` does for our routes:
 * the proxy (server/auth/gate.ts) first, then the tRPC route handler or a download route. Lets tests speak HTTP to the
 * real code (cookies, headers, status codes, the tRPC client) without building Next.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { NextRequest } from 'next/server'
import { gate } from '../auth/gate.ts'
import { GET as eventsGET } from '../../app/api/events/route.ts'
import { GET, POST } from '../../app/api/trpc/[trpc]/route.ts'
import { GET as artifactGET } from '../../app/runs/[id]/artifacts/[artifactId]/route.ts'
import { GET as liveArtifactGET } from '../../app/runs/[id]/artifacts/live/route.ts'
import { GET as logGET } from '../../app/runs/[id]/tasks/[taskId]/log/route.ts'
import { GET as exportGET } from '../../app/workflows/[id]/export/route.ts'

type RouteGet = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>
/** the route handlers under app/ (path pattern, parameter names, handler) */
const ROUTES: [RegExp, string[], RouteGet][] = [
  [/^\/api\/events$/, [], eventsGET as RouteGet],
  [/^\/runs\/([^/]+)\/tasks\/([^/]+)\/log$/, ['id', 'taskId'], logGET as RouteGet],
  [/^\/runs\/([^/]+)\/artifacts\/live$/, ['id'], liveArtifactGET as RouteGet],
  [/^\/runs\/([^/]+)\/artifacts\/([^/]+)$/, ['id', 'artifactId'], artifactGET as RouteGet],
  [/^\/workflows\/([^/]+)\/export$/, ['id'], exportGET as RouteGet],
]

function routeFor(pathname: string): { get: RouteGet; params: Record<string, string> } | null {
  for (const [re, names, get] of ROUTES) {
    const m = re.exec(pathname)
    if (m) return { get, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])) }
  }
  return null
}

export interface Harness {
  url: string
  close(): Promise<void>
}

export async function startHarness(): Promise<Harness> {
  const server = http.createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const body = Buffer.concat(chunks)
      const url = `http://${req.headers.host}${req.url}`
      const headers = new Headers()
      for (const [k, v] of Object.entries(req.headers)) {
        if (Array.isArray(v)) v.forEach((x) => headers.append(k, x))
        else if (typeof v === 'string') headers.set(k, v)
      }
      const method = req.method ?? 'GET'
      // the client going away aborts the request (streams end), as in `next start`
      const gone = new AbortController()
      res.on('close', () => gone.abort())
      const init = {
        method,
        headers,
        body: method === 'GET' || method === 'HEAD' ? undefined : body,
        signal: gone.signal,
      }
      let response: Response = await gate(new NextRequest(url, init))
      if (response.headers.get('x-middleware-next') === '1') {
        const u = new URL(url)
        if (u.pathname.startsWith('/api/trpc/')) {
          const handler = method === 'POST' ? POST : GET
          response = await handler(new Request(url, init))
        } else if (method === 'GET' && routeFor(u.pathname)) {
          const r = routeFor(u.pathname)!
          response = await r.get(new Request(url, init), { params: Promise.resolve(r.params) })
        } else {
          response = new Response(`page ${u.pathname}`, { status: 200, headers: { 'content-type': 'text/plain' } })
        }
      }
      const out: Record<string, string | string[]> = {}
      response.headers.forEach((v, k) => {
        if (k !== 'set-cookie') out[k] = v
      })
      const cookies = response.headers.getSetCookie()
      if (cookies.length) out['set-cookie'] = cookies
      res.writeHead(response.status, out)
      if (response.body && out['content-type']?.toString().startsWith('text/event-stream')) {
        // a stream is written as it comes (Server-Sent Events), pulled as the socket drains
        const reader = response.body.getReader()
        res.on('close', () => void reader.cancel().catch(() => {}))
        for (;;) {
          const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
          if (done || res.destroyed) break
          if (!res.write(value)) await new Promise((r) => res.once('drain', r).once('close', r))
        }
        res.end()
        return
      }
      res.end(Buffer.from(await response.arrayBuffer()))
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(String(e))
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) }
}
