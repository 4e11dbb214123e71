/** workflow.diff: Both texts and a line-diff summary. */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, lineDiffSchema, versionFullSchema } from '../../schemas.ts'

export const workflowDiff = protectedProcedure
  .input(z.object({ fromVersionId: id, toVersionId: id }).strict())
  .output(z.object({ from: versionFullSchema, to: versionFullSchema, diff: lineDiffSchema }))
  .query(({ ctx, input }) => lib.diffVersions(ctx.db, input))
