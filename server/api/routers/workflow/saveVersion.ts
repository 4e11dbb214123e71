/** workflow.saveVersion: Save: a new workflow (no workflowId) or a new version of one (workflowId + parentVersionId =
 * the version the text was edited from). CONFLICT when someone saved since; FORBIDDEN unless the
 * caller owns the workflow (users mode); nothing written then. */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, saveResultSchema } from '../../schemas.ts'

export const workflowSaveVersion = protectedProcedure
  .input(
    z
      .object({
        workflowId: id.nullish(),
        parentVersionId: id.nullish(),
        yaml: z.string(),
        message: z.string().max(2000).optional(),
        name: z.string().max(200).optional(),
        description: z.string().max(5000).optional(),
      })
      .strict(),
  )
  .output(saveResultSchema)
  .mutation(({ ctx, input }) => lib.saveVersion(ctx.db, ctx.actor, input))
