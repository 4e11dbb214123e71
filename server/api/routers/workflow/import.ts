/** workflow.import: Import a .yaml file (≤ 1 MiB, UTF-8, no NUL) as a new workflow. */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { saveResultSchema } from '../../schemas.ts'

export const workflowImport = protectedProcedure
  .input(
    z
      .object({
        fileName: z.string().min(1).max(255),
        contentBase64: z.string().optional(),
        content: z.string().optional(),
        name: z.string().max(200).optional(),
        message: z.string().max(2000).optional(),
      })
      .strict(),
  )
  .output(saveResultSchema)
  .mutation(({ ctx, input }) => lib.importWorkflow(ctx.db, ctx.actor, input))
