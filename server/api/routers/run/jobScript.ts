/** run.jobScript: the job script (and submit description) actually submitted for a task, read from its run directory */
import { z } from 'zod'
import { readTaskJobScript } from '../../../execution/submitted.ts'
import { protectedProcedure } from '../../trpc.ts'
import { id } from '../../schemas.ts'
import { RunJobScriptOutput } from './outputs.ts'

export const runJobScript = protectedProcedure
  .input(z.object({ taskId: id }).strict())
  .output(RunJobScriptOutput)
  .query(({ ctx, input }) => readTaskJobScript(ctx.db, input.taskId))
