/** auth.*: who is calling. */
import { z } from 'zod'
import { createTRPCRouter, protectedProcedure } from '../trpc.ts'

export const authRouter = createTRPCRouter({
  /** Who am I (name, mode, admin). */
  me: protectedProcedure
    .output(z.object({ name: z.string(), mode: z.enum(['token', 'users']), admin: z.boolean() }))
    .query(({ ctx }) => ({ name: ctx.user.name, mode: ctx.user.mode, admin: ctx.user.admin })),
})
