/**
 * run.*: runs of workflow versions. Thin: zod input, then the run domain (server/execution/runs.ts).
 *
 * run.events is an SSE subscription of shared batches (server/execution/stream.ts).
 */
import { z } from 'zod'
import * as runs from '../../execution/runs.ts'
import { hepProgress, listRunArtifacts } from '../../execution/hep-artifacts.ts'
import { poolProfileSummary } from '../../execution/profile-summary.ts'
import { readTaskJobScript, runBackendInfo } from '../../execution/submitted.ts'
import { readRunLogLines } from '../../execution/run-log.ts'
import { streamRunEvents } from '../../execution/stream.ts'
import { TASK_STATES, RUN_STATES } from '../../execution/types.ts'
import { createTRPCRouter, protectedProcedure } from '../trpc.ts'

const id = z.string().min(1).max(100)
const overrides = z
  .object({
    backend: z.enum(['local', 'dask']).optional(),
    strategy: z.enum(['local', 'slurm', 'htcondor']).optional(),
  })
  .strict()
  .optional()

export const runRouter = createTRPCRouter({
  /** freeze a version's plan and start a run (refused: NOT_RUNNABLE with details.problems) */
  start: protectedProcedure
    .input(z.object({ versionId: id, overrides }).strict())
    .mutation(({ ctx, input }) =>
      runs.startRun({ versionId: input.versionId, overrides: input.overrides, source: 'ui', actor: ctx.actor }),
    ),

  /** preflight problems and the submission text (job script / command) per pool, before dispatch */
  preview: protectedProcedure
    .input(z.object({ versionId: id, overrides }).strict())
    .query(({ input }) => runs.previewRun(input)),

  list: protectedProcedure
    .input(
      z
        .object({
          workflowId: id.optional(),
          state: z.enum(RUN_STATES).optional(),
          backend: z.string().max(40).optional(),
          strategy: z.string().max(40).optional(),
          owner: z.string().max(200).optional(),
          q: z.string().max(200).optional(),
          cursor: id.nullish(),
          limit: z.number().int().min(1).max(200).optional(),
        })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => runs.listRuns(ctx.db, input ?? {})),

  /** the run, per-stage counts, pools with their workers, and the last event id (subscribe from it) */
  get: protectedProcedure
    .input(z.object({ runId: id }).strict())
    .query(({ ctx, input }) => runs.getRun(ctx.db, input.runId)),

  tasks: protectedProcedure
    .input(
      z
        .object({
          runId: id,
          state: z.union([z.enum(TASK_STATES), z.array(z.enum(TASK_STATES)).max(8)]).optional(),
          pool: z.string().max(100).optional(),
          stage: z.string().max(200).optional(),
          worker: id.optional(),
          withQueued: z.boolean().optional(),
          sort: z.enum(['index', 'duration', '-duration', 'started', '-started', 'state']).optional(),
          cursor: z.number().int().min(0).nullish(),
          limit: z.number().int().min(1).max(1000).default(100),
        })
        .strict(),
    )
    .query(({ ctx, input }) => runs.listTasks(ctx.db, input)),

  /** artifacts of the run (hep.* histograms, plots, cutflows), registered from the run directory; download: /runs/<id>/artifacts/<artifactId> */
  artifacts: protectedProcedure
    .input(z.object({ runId: id }).strict())
    .query(({ ctx, input }) => listRunArtifacts(ctx.db, input.runId)),
  /** hep.* stages: partitions done / total and events processed, per stage and dataset */
  hepProgress: protectedProcedure
    .input(z.object({ runId: id }).strict())
    .query(({ ctx, input }) => hepProgress(ctx.db, input.runId)),

  /** profile modifier results per pool: tasks profiled, total / mean CPU, total wall, max peak RSS */
  poolProfile: protectedProcedure
    .input(z.object({ runId: id }).strict())
    .query(({ ctx, input }) => poolProfileSummary(ctx.db, input.runId)),

  /** the job script (and submit description) actually submitted for a task, read from its run directory */
  jobScript: protectedProcedure
    .input(z.object({ taskId: id }).strict())
    .query(({ ctx, input }) => readTaskJobScript(ctx.db, input.taskId)),
  /** backend details of a run: the Dask session (scheduler, dashboard, workers per pool with batch job ids) */
  backendInfo: protectedProcedure
    .input(z.object({ runId: id }).strict())
    .query(({ ctx, input }) => runBackendInfo(ctx.db, input.runId)),

  cancel: protectedProcedure
    .input(z.object({ runId: id }).strict())
    .mutation(({ ctx, input }) => runs.cancelRun({ runId: input.runId, actor: ctx.actor })),
  cancelTask: protectedProcedure
    .input(z.object({ taskId: id }).strict())
    .mutation(({ ctx, input }) => runs.cancelTask({ taskId: input.taskId, actor: ctx.actor })),
  retryTask: protectedProcedure
    .input(z.object({ taskId: id }).strict())
    .mutation(({ ctx, input }) => runs.retryTask({ taskId: input.taskId, actor: ctx.actor })),
  /** a new run of the same plan reusing the succeeded tasks upstream of `stageId` */
  rerunFrom: protectedProcedure
    .input(z.object({ runId: id, stageId: z.string().min(1).max(200) }).strict())
    .mutation(({ ctx, input }) =>
      runs.rerunFrom({ runId: input.runId, stageId: input.stageId, source: 'ui', actor: ctx.actor }),
    ),

  /** a chunk of a task's log file (stdout | stderr) from `offset`; `tail` gives the last `limit` bytes */
  log: protectedProcedure
    .input(
      z
        .object({
          taskId: id,
          stream: z.enum(['stdout', 'stderr']).default('stdout'),
          offset: z.number().int().min(0).optional(),
          limit: z
            .number()
            .int()
            .min(1)
            .max(1 << 20)
            .optional(),
          tail: z.boolean().optional(),
        })
        .strict(),
    )
    .query(({ ctx, input }) => runs.readLog(ctx.db, input)),

  /** the run-wide log: every task's lines (a page of tasks at a time) with task, stage, pool, state and time */
  logLines: protectedProcedure
    .input(
      z
        .object({
          runId: id,
          stage: z.string().max(200).optional(),
          pool: z.string().max(100).optional(),
          state: z.union([z.enum(TASK_STATES), z.array(z.enum(TASK_STATES)).max(8)]).optional(),
          cursor: z.number().int().min(0).nullish(),
        })
        .strict(),
    )
    .query(({ ctx, input }) => readRunLogLines(ctx.db, input)),

  /**
   * Live events of one run (or of all runs without runId), in batches shared by every viewer
   * (server/execution/stream.ts). Each message is `{ json }` (decodeStreamMessage: `{ events,
   * coalesced }`) tracked by its last event id: a reconnect (lastEventId) resumes with no gap and no
   * duplicate.
   */
  events: protectedProcedure
    .input(
      z
        .object({
          runId: id.nullish(),
          lastEventId: z
            .string()
            .regex(/^\d{1,15}$/)
            .nullish(),
        })
        .strict(),
    )
    .subscription(({ ctx, input, signal }) =>
      streamRunEvents(ctx.db, {
        runId: input.runId ?? null,
        lastEventId: input.lastEventId != null ? Number(input.lastEventId) : null,
        signal,
      }),
    ),
})
