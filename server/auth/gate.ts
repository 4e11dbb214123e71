/**
 * The access gate run by /proxy.ts in front of every route (pages, route handlers, tRPC).
 * Public: /api/health and static assets (excluded by the proxy's matcher).
 *
 * Token mode: `?token=<t>` on a page sets the cookie and redirects to the clean URL; without access
 * a page gets a small "enter your token" form, an API call a 401 JSON.
 * Users mode: /login (form, POST) and /logout; without a session a page gets the login form.
 * Non-GET requests must come from this origin (Origin / Sec-Fetch-Site). Every request must name
 * this server in its Host header (server/auth/hosts.ts: against DNS rebinding).
 */
import { NextResponse, type NextRequest } from 'next/server'
import {
  authMode,
  authenticate,
  cookieName,
  createSessionValue,
  crossSiteProblem,
  isValidToken,
  tokenCookieValue,
  type AuthResult,
} from './core.ts'
import { hostProblem } from './hosts.ts'
import { ensureToken } from './secrets.ts'
import { checkLogin } from './users.ts'
import { readSetting } from '../settings.ts'

const PUBLIC_PATHS = new Set(['/api/health'])

function isApi(pathname: string): boolean {
  return pathname.startsWith('/api/')
}

function secure(req: NextRequest): boolean {
  return req.nextUrl.protocol === 'https:'
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

function page(title: string, body: string, status: number): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · Control Room</title><meta name="robots" content="noindex">
<style>body{font:15px/1.5 system-ui,sans-serif;background:#0f1419;color:#e6e6e6;display:grid;place-items:center;min-height:100vh;margin:0}
main{background:#1a2029;border:1px solid #2c3440;border-radius:8px;padding:28px 32px;max-width:440px;width:100%}
h1{font-size:20px;margin:0 0 8px}p{color:#9aa5b1;margin:0 0 16px}label{display:block;margin:10px 0 4px}
input{width:100%;box-sizing:border-box;padding:8px;border-radius:4px;border:1px solid #3a4452;background:#0f1419;color:#e6e6e6;font:inherit}
button{margin-top:16px;padding:8px 16px;border:0;border-radius:4px;background:#3b82f6;color:#fff;font:inherit;cursor:pointer}
.err{color:#f87171}code{color:#cbd5e1}</style></head><body><main>${body}</main></body></html>`
  return new Response(html, {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    },
  })
}

function tokenPage(req: NextRequest, error?: string): Response {
  const action = esc(req.nextUrl.pathname)
  return page(
    'Access token',
    `<h1>Control Room</h1><p>This server needs its access token. It was printed when the server started
(<code>http://127.0.0.1:PORT/?token=…</code>) and is stored in <code>$CONTROLROOM_HOME/token</code>.</p>
${error ? `<p class="err" role="alert">${esc(error)}</p>` : ''}
<form method="get" action="${action}"><label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<button type="submit">Continue</button></form>`,
    401,
  )
}

function loginPage(req: NextRequest, error?: string, status = 401): Response {
  const next =
    req.nextUrl.pathname === '/login'
      ? (req.nextUrl.searchParams.get('next') ?? '/')
      : req.nextUrl.pathname + req.nextUrl.search
  return page(
    'Log in',
    `<h1>Control Room</h1><p>Log in with your account.</p>
${error ? `<p class="err" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/login"><input type="hidden" name="next" value="${esc(safeNext(next))}">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" autofocus required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button></form>`,
    status,
  )
}

function safeNext(next: string): string {
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/'
}

function unauthorizedJson(auth: Extract<AuthResult, { ok: false }>): Response {
  return Response.json(
    { error: { code: 'UNAUTHORIZED', reason: auth.reason, message: auth.message } },
    {
      status: 401,
      headers: {
        'cache-control': 'no-store',
        'www-authenticate': authMode() === 'token' ? 'Bearer realm="controlroom"' : 'Basic realm="controlroom"',
      },
    },
  )
}

function setAuthCookie(res: NextResponse | Response, req: NextRequest, value: string, maxAgeSeconds: number) {
  const parts = [
    `${cookieName(req)}=${encodeURIComponent(value)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
  ]
  if (secure(req)) parts.push('Secure')
  res.headers.append('set-cookie', parts.join('; '))
}

/** The origin the browser used (its Host header; NextURL rewrites 127.0.0.1 to localhost). */
function ownOrigin(req: NextRequest): string {
  const host = req.headers.get('host')
  return host ? `${req.nextUrl.protocol}//${host}` : req.nextUrl.origin
}

/** A redirect that also works when the navigation came from another site (SameSite=Strict). */
function redirectTo(req: NextRequest, url: URL): Response {
  const site = req.headers.get('sec-fetch-site')
  if (!site || site === 'none' || site === 'same-origin') {
    // Next's proxy needs an absolute Location
    const res = NextResponse.redirect(new URL(url.pathname + url.search + url.hash, ownOrigin(req)), 303)
    res.headers.set('cache-control', 'no-store')
    return res
  }
  const target = esc(url.pathname + url.search)
  return new Response(
    `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${target}"><a href="${target}">Continue</a>`,
    {
      status: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      },
    },
  )
}

export async function gate(req: NextRequest): Promise<Response> {
  const { pathname } = req.nextUrl
  const badHost = hostProblem(req.headers.get('host') ?? new URL(req.url).host)
  if (badHost)
    return new Response(`${badHost}\n`, {
      status: 421,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    })
  if (PUBLIC_PATHS.has(pathname)) return NextResponse.next()
  const method = req.method.toUpperCase()
  const safeMethod = method === 'GET' || method === 'HEAD' || method === 'OPTIONS'

  let mode
  try {
    mode = authMode()
  } catch (e) {
    return new Response(`Control Room is misconfigured: ${(e as Error).message}`, { status: 500 })
  }

  // Token mode: first visit with ?token=
  if (mode === 'token' && method === 'GET' && req.nextUrl.searchParams.has('token') && !isApi(pathname)) {
    const candidate = req.nextUrl.searchParams.get('token') ?? ''
    if (!isValidToken(candidate)) return tokenPage(req, 'That token is not right.')
    const clean = req.nextUrl.clone()
    clean.searchParams.delete('token')
    const res = redirectTo(req, clean)
    setAuthCookie(res, req, tokenCookieValue(ensureToken()), 30 * 24 * 3600)
    return res
  }

  if (mode === 'users') {
    if (pathname === '/login') {
      if (method === 'GET') return loginPage(req, undefined, 200)
      if (method === 'POST') {
        const cs = crossSiteProblem(req)
        if (cs) return new Response(cs, { status: 403 })
        let form: FormData
        try {
          form = await req.formData()
        } catch {
          return loginPage(req, 'Send the login form.', 400)
        }
        const name = String(form.get('username') ?? '')
        const password = String(form.get('password') ?? '')
        const next = safeNext(String(form.get('next') ?? '/'))
        const u = name && password ? checkLogin(name, password) : null
        if (!u) return loginPage(req, 'Wrong user name or password.')
        const res = redirectTo(req, new URL(next, ownOrigin(req)))
        setAuthCookie(res, req, await createSessionValue(u.name), readSetting('CONTROLROOM_SESSION_HOURS') * 3600)
        return res
      }
      return new Response('Method not allowed', { status: 405 })
    }
    if (pathname === '/logout') {
      const res = redirectTo(req, new URL('/login', ownOrigin(req)))
      setAuthCookie(res, req, '', 0)
      return res
    }
  }

  // Non-GET requests: same origin only (mutations are also checked in the tRPC context).
  if (!safeMethod) {
    const cs = crossSiteProblem(req)
    if (cs) return Response.json({ error: { code: 'FORBIDDEN', message: cs } }, { status: 403 })
  }

  const auth = await authenticate(req)
  if (auth.ok) {
    const res = NextResponse.next()
    return res
  }
  if (auth.reason === 'misconfigured')
    return new Response(`Control Room is misconfigured: ${auth.message}`, { status: 500 })
  if (isApi(pathname) || !safeMethod) return unauthorizedJson(auth)
  return mode === 'token'
    ? tokenPage(req, auth.reason === 'invalid' ? auth.message : undefined)
    : loginPage(req, auth.reason === 'expired' ? auth.message : undefined)
}
