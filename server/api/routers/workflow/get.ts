/** workflow.get: A workflow and one version (default: the head) with its YAML and problems. */
import { z } from 'zod'
import * as lib from '../../../library/workflows.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, versionFullSchema, workflowSummarySchema } from '../../schemas.ts'

export const workflowGet = protectedProcedure
  .input(z.object({ id, versionId: id.nullish() }).strict())
  .output(z.object({ workflow: workflowSummarySchema, version: versionFullSchema.nullable(), isHead: z.boolean() }))
  .query(({ ctx, input }) => lib.getWorkflow(ctx.db, { id: input.id, versionId: input.versionId ?? null }))
