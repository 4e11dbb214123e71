/**
 * tRPC setup: context (database + who is calling), superjson, error mapping, and the procedures.
 *
 *   protectedProcedure  every procedure of the app: the caller must pass the access check
 *                       (server/auth), and over HTTP a mutation must be a same-origin JSON POST.
 *   publicProcedure     NO access check: do not use for app data (a test enumerates the router and
 *                       fails on any procedure that answers without credentials).
 *
 * Domain errors (server/errors.ts: DomainError) become tRPC errors with the same message and the
 * code of server/errors.ts TRPC_CODE; `error.data.domainCode` and `error.data.details` carry the rest
 * (e.g. the current head on CONFLICT). Zod input errors read "field: message".
 */
import { initTRPC, TRPCError } from '@trpc/server'
import superjson from 'superjson'
import { ZodError } from 'zod'
import { currentDbUrl, getDb, migrateDatabase, type Db } from '../db/client.ts'
import { authenticate, csrfProblem, localUserName, type AuthResult, type AuthUser } from '../auth/core.ts'
import { isDomainError, TRPC_CODE } from '../errors.ts'
import { actorOf } from './actor.ts'

export interface Context {
  db: Db
  auth: AuthResult
  /** the HTTP request (null for server-side callers: createCaller) */
  req: Request | null
  resHeaders: Headers | null
}

/** Context of an HTTP request (app/api/trpc/[trpc]/route.ts). */
export async function createContext(opts: { req: Request; resHeaders?: Headers; db?: Db }): Promise<Context> {
  const db = opts.db ?? getDb()
  if (!opts.db) await migrateDatabase(currentDbUrl())
  return { db, auth: await authenticate(opts.req), req: opts.req, resHeaders: opts.resHeaders ?? null }
}

/**
 * Context for server-side callers (server components, the CLI, tests): `appRouter.createCaller(ctx)`.
 * Give `user: null` to act as an unauthenticated caller.
 */
export function createInternalContext(opts: { db?: Db; user?: Partial<AuthUser> | null } = {}): Context {
  const auth: AuthResult =
    opts.user === null
      ? { ok: false, reason: 'missing', message: 'no credentials' }
      : {
          ok: true,
          user: {
            name: opts.user?.name ?? localUserName(),
            admin: opts.user?.admin ?? true,
            mode: opts.user?.mode ?? 'token',
            via: 'internal',
          },
        }
  return { db: opts.db ?? getDb(), auth, req: null, resHeaders: null }
}

function zodMessage(e: ZodError): string {
  return e.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`)
    .join('; ')
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const cause = error.cause
    let message = shape.message
    let issues: { path: string; message: string }[] | undefined
    if (cause instanceof ZodError) {
      message = `invalid input: ${zodMessage(cause)}`
      issues = cause.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
    } else if (error.code === 'INTERNAL_SERVER_ERROR' && !isDomainError(cause)) {
      message = 'internal server error (details are in the server log)'
    }
    return {
      ...shape,
      message,
      data: {
        ...shape.data,
        stack: undefined,
        domainCode: isDomainError(cause) ? cause.domainCode : undefined,
        details: isDomainError(cause) ? cause.details : undefined,
        issues,
      },
    }
  },
})

export const createTRPCRouter = t.router
export const createCallerFactory = t.createCallerFactory
export const mergeRouters = t.mergeRouters

/** Domain errors -> tRPC errors (message kept); zod input errors -> a readable message. */
const mapErrors = t.middleware(async ({ next }) => {
  const res = await next()
  if (!res.ok && isDomainError(res.error.cause)) {
    const cause = res.error.cause
    throw new TRPCError({ code: TRPC_CODE[cause.domainCode] ?? 'BAD_REQUEST', message: cause.message, cause })
  }
  if (!res.ok && res.error.cause instanceof ZodError && res.error.code === 'BAD_REQUEST') {
    // readable for server-side callers too (the errorFormatter only shapes HTTP responses)
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: `invalid input: ${zodMessage(res.error.cause)}`,
      cause: res.error.cause,
    })
  }
  return res
})

/** The access check: authenticated caller; over HTTP, mutations only as same-origin JSON POSTs. */
const requireAccess = t.middleware(async ({ ctx, type, next }) => {
  if (!ctx.auth.ok) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: ctx.auth.message })
  }
  if (ctx.req && type === 'mutation') {
    const problem = csrfProblem(ctx.req)
    if (problem) throw new TRPCError({ code: 'FORBIDDEN', message: problem })
  }
  const user = ctx.auth.user
  return next({ ctx: { ...ctx, user, actor: await actorOf(ctx.db, user) } })
})

export const publicProcedure = t.procedure.use(mapErrors)
export const protectedProcedure = t.procedure.use(mapErrors).use(requireAccess)
