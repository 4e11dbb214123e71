/** overview.resumePreview: which stages a resume of a failed run with a version would reuse, and why */
import { z } from 'zod'
import { previewResume } from '../../../execution/resume.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, resumeDecisionSchema } from './schemas.ts'

export const overviewResumePreview = protectedProcedure
  .input(z.object({ runId: id, versionId: id }).strict())
  .output(resumeDecisionSchema.extend({ versionId: z.string(), versionNumber: z.number() }))
  .query(({ ctx, input }) => previewResume(ctx.db, input))
