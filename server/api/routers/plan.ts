/**
 * plan.*: the plan of a workflow being edited (not necessarily saved). Thin: zod input, then the
 * domain (server/execution/preview.ts).
 */
import { z } from 'zod'
import { PREVIEW_MAX_YAML, previewSubmissions } from '../../execution/preview.ts'
import { assertCompilesInBudget } from '../../library/compile-pool.ts'
import { overrides } from '../schemas.ts'
import { createTRPCRouter, protectedProcedure } from '../trpc.ts'

export const planRouter = createTRPCRouter({
  /**
   * exactly what would be submitted per pool (sbatch script, submit description, Dask worker job),
   * with preflight problems; submits nothing. Declared a mutation only so that tRPC sends it as a POST:
   * a whole workflow does not fit in a GET URL (queries put their input there).
   */
  preview: protectedProcedure
    .input(z.object({ yaml: z.string().max(PREVIEW_MAX_YAML), overrides }).strict())
    .mutation(async ({ input }) => {
      await assertCompilesInBudget(input.yaml)
      return previewSubmissions(input.yaml, { overrides: input.overrides })
    }),
})
