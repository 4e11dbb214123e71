/** run.preview: preflight problems and the submission text (job script / command) per pool, before dispatch */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, overrides } from '../../schemas.ts'

export const runPreview = protectedProcedure
  .input(z.object({ versionId: id, overrides }).strict())
  .query(({ input }) => runs.previewRun(input))
