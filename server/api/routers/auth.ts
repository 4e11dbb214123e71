import { createTRPCRouter, protectedProcedure } from '../trpc.ts'

export const authRouter = createTRPCRouter({
  /** Who am I (name, mode, admin). */
  me: protectedProcedure.query(({ ctx }) => ({ name: ctx.user.name, mode: ctx.user.mode, admin: ctx.user.admin })),
})
