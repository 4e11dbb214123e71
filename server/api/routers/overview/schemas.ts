/** zod schemas shared by the overview procedures (their types are the domain's: server/operations). */
import { z } from 'zod'

export const id = z.string().min(1).max(100)

export const poolFitSchema = z.object({
  pool: z.string(),
  workflows: z.array(z.string()),
  verdict: z.enum(['fits', 'partly', 'none', 'no-such-partition']),
  machines: z.number(),
  idleMachines: z.number(),
  concurrentWorkers: z.number(),
  group: z.string().nullable(),
  sentence: z.string(),
})

export const unavailableSchema = z.object({ status: z.literal('unavailable'), message: z.string(), hint: z.string() })

export const stageVerdictSchema = z.enum([
  'reused',
  'partly-reused',
  'changed',
  'upstream-reruns',
  'not-succeeded',
  'new',
])

export const resumeDecisionSchema = z.object({
  stages: z.array(
    z.object({
      stageId: z.string(),
      verdict: stageVerdictSchema,
      reusedTasks: z.number(),
      oldTasks: z.number(),
      reason: z.string(),
      changes: z.array(z.string()),
    }),
  ),
  reused: z.array(z.string()),
  rerun: z.array(z.string()),
  removed: z.array(z.string()),
})

export const runParameterSchema = z
  .object({
    key: z
      .string()
      .min(3)
      .max(300)
      .regex(/^[A-Za-z_][\w-]*(\.[\w-]+)+$/, 'write Stage.param or execution.key'),
    value: z.string().min(1).max(10_000),
  })
  .strict()
