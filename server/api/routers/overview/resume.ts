/** overview.resume: fix and resume: a new run of the fixed version reusing the unchanged succeeded stages */
import { z } from 'zod'
import { resumeRun } from '../../../execution/resume.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, resumeDecisionSchema } from './schemas.ts'

export const overviewResume = protectedProcedure
  .input(z.object({ runId: id, versionId: id }).strict())
  .output(resumeDecisionSchema.extend({ runId: z.string() }))
  .mutation(({ ctx, input }) => resumeRun({ ...input, source: 'ui', actor: ctx.actor }))
