/** run.list: recent runs, newest first (cursor pages) */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
import { RUN_STATES } from '../../../execution/types.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'
import { RunListOutput } from './outputs.ts'

export const runList = protectedProcedure
  .input(
    z
      .object({
        workflowId: id.optional(),
        state: z.enum(RUN_STATES).optional(),
        backend: z.string().max(40).optional(),
        strategy: z.string().max(40).optional(),
        owner: z.string().max(200).optional(),
        q: z.string().max(200).optional(),
        cursor: id.nullish(),
        limit: z.number().int().min(1).max(200).optional(),
      })
      .strict()
      .optional(),
  )
  .output(RunListOutput)
  .query(({ ctx, input }) => runs.listRuns(ctx.db, input ?? {}))
