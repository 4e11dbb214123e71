/** overview.runs: what runs now (progress by stage, pools busy/idle, queue depth), recent failures, credentials' time left */
import { z } from 'zod'
import { credentialBadgeStatuses } from '../../../credentials/status.ts'
import { activeRuns, recentFailures } from '../../../operations/runs.ts'
import { protectedProcedure } from '../../trpc.ts'

const output = z.object({
  active: z.array(
    z.object({
      id: z.string(),
      workflowName: z.string(),
      versionNumber: z.number(),
      state: z.string(),
      backend: z.string(),
      strategy: z.string(),
      startedAt: z.date().nullable(),
      total: z.number(),
      succeeded: z.number(),
      failed: z.number(),
      queueDepth: z.number(),
      stages: z.array(
        z.object({
          id: z.string(),
          pool: z.string(),
          total: z.number(),
          succeeded: z.number(),
          failed: z.number(),
          running: z.number(),
          waiting: z.number(),
        }),
      ),
      pools: z.array(
        z.object({
          pool: z.string(),
          planned: z.number(),
          busy: z.number(),
          idle: z.number(),
          starting: z.number(),
          queued: z.number(),
          resources: z.object({ cpus: z.number(), memoryBytes: z.number().nullable(), gpus: z.number() }),
        }),
      ),
      daskWorkers: z.array(
        z.object({
          id: z.string(),
          pool: z.string(),
          host: z.string().nullable(),
          state: z.string(),
          busy: z.boolean(),
        }),
      ),
    }),
  ),
  failures: z.array(
    z.object({
      runId: z.string(),
      workflowId: z.string(),
      workflowName: z.string(),
      versionNumber: z.number(),
      finishedAt: z.date().nullable(),
      error: z.string().nullable(),
      failedTasks: z.number(),
      task: z
        .object({
          id: z.string(),
          stageId: z.string(),
          partitionKey: z.string().nullable(),
          exitCode: z.number().nullable(),
          signal: z.string().nullable(),
          reason: z.string().nullable(),
        })
        .nullable(),
    }),
  ),
  credentials: z.array(
    z.object({
      kind: z.string(),
      source: z.string(),
      found: z.boolean(),
      identity: z.string().nullable(),
      expiresAt: z.string().nullable(),
      secondsLeft: z.number().nullable(),
      expired: z.boolean(),
      error: z.string().nullable(),
    }),
  ),
})

export const overviewRuns = protectedProcedure
  .input(z.object({ failures: z.number().int().min(1).max(50).default(8) }).strict())
  .output(output)
  .query(async ({ ctx, input }) => {
    const [active, failures, creds] = await Promise.all([
      activeRuns(ctx.db),
      recentFailures(ctx.db, input.failures),
      credentialBadgeStatuses(),
    ])
    return { active, failures, credentials: creds.credentials }
  })
