/**
 * The app's tRPC router. Adding a router is one line below (its procedures must use
 * `protectedProcedure` from ./trpc.ts; server/api/access.test.ts checks every procedure).
 */
import { createCallerFactory, createTRPCRouter } from './trpc.ts'
import { workflowRouter } from './routers/workflow/index.ts'
import { authRouter } from './routers/auth.ts'
import { runRouter } from './routers/run/index.ts'
import { credentialsRouter } from './routers/credentials.ts'
import { planRouter } from './routers/plan.ts'
import { overviewRouter } from './routers/overview/index.ts'

export const appRouter = createTRPCRouter({
  auth: authRouter,
  workflow: workflowRouter,
  run: runRouter,
  credentials: credentialsRouter,
  plan: planRouter,
  overview: overviewRouter,
})

export type AppRouter = typeof appRouter

/** Server-side caller: `createCaller(createInternalContext({ db }))`. */
export const createCaller = createCallerFactory(appRouter)
