/**
 * The route handlers' transport (downloads under app/: a task's log, an artifact, a workflow
 * export): the access check, the database migration and the domain-error mapping, once. A handler
 * gets the caller and the database and calls one domain function; it never queries Prisma itself.
 *
 * Errors are JSON `{ error: { code, message, details? } }` with the HTTP status of
 * server/errors.ts HTTP_STATUS (the same mapping the tRPC transport uses for its codes).
 */
import { authenticate } from '../auth/core.ts'
import { currentDbUrl, type Db, getDb, migrateDatabase } from '../db/client.ts'
import { HTTP_STATUS, isDomainError } from '../errors.ts'
import type { Actor } from '../library/policy.ts'
import { actorOf } from './actor.ts'

export function errorResponse(status: number, code: string, message: string, details?: Record<string, unknown>) {
  return Response.json(
    { error: { code, message, ...(details ? { details } : {}) } },
    { status, headers: { 'cache-control': 'no-store' } },
  )
}

export interface RouteContext<P> {
  req: Request
  url: URL
  params: P
  db: Db
  actor: Actor
}

/** A Next route handler (GET) that runs `handle` for an authenticated caller. */
export function routeHandler<P>(handle: (ctx: RouteContext<P>) => Promise<Response>) {
  return async (req: Request, route: { params: Promise<P> }): Promise<Response> => {
    const auth = await authenticate(req) // also checked by /proxy.ts, in front of every route
    if (!auth.ok) return errorResponse(401, 'UNAUTHORIZED', auth.message)
    await migrateDatabase(currentDbUrl())
    const db = getDb()
    try {
      const actor = await actorOf(db, auth.user)
      return await handle({ req, url: new URL(req.url), params: await route.params, db, actor })
    } catch (e) {
      if (isDomainError(e)) return errorResponse(HTTP_STATUS[e.domainCode], e.domainCode, e.message, e.details)
      throw e
    }
  }
}

/** Headers of a file sent as an attachment (never sniffed, never cached). */
export function attachmentHeaders(fileName: string, contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'content-disposition': `attachment; filename="${fileName.replace(/["\\\r\n]/g, '_')}"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  }
}
