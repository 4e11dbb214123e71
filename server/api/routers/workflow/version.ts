/** workflow.version: One version by id (any workflow). */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, versionFullSchema } from '../../schemas.ts'

export const workflowVersion = protectedProcedure
  .input(z.object({ versionId: id }).strict())
  .output(versionFullSchema)
  .query(({ ctx, input }) => lib.getVersion(ctx.db, input.versionId))
