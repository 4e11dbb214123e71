/** run.preview: preflight problems and the submission text (job script / command) per pool, before dispatch */
import { z } from 'zod'
import * as runs from '../../../execution/runs.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id, overrides } from '../../schemas.ts'
import { RunPreviewOutput } from './outputs.ts'

export const runPreview = protectedProcedure
  .input(z.object({ versionId: id, overrides }).strict())
  .output(RunPreviewOutput)
  .query(({ input }) => runs.previewRun(input))
