/**
 * run.*: runs of workflow versions. Thin: zod input, then the run domain (server/execution/runs.ts).
 *
 * run.events is an SSE subscription of batches: each message is `{ events: RunEvent[] }` tracked by
 * the id of its LAST event, so a reconnect (lastEventId) resumes with no gap and no duplicate.
 */
import { tracked } from '@trpc/server'
import { z } from 'zod'
import { subscribe } from '../../execution/bus.ts'
import * as runs from '../../execution/runs.ts'
import { hepProgress, listRunArtifacts } from '../../execution/hep-artifacts.ts'
import { poolProfileSummary } from '../../execution/profile-summary.ts'
import { readTaskJobScript, runBackendInfo } from '../../execution/submitted.ts'
import { TASK_STATES, RUN_STATES, type RunEvent } from '../../execution/types.ts'
import { createTRPCRouter, protectedProcedure } from '../trpc.ts'

const id = z.string().min(1).max(100)
const overrides = z
  .object({
    backend: z.enum(['local', 'dask']).optional(),
    strategy: z.enum(['local', 'slurm', 'htcondor']).optional(),
  })
  .strict()
  .optional()

/** how long a burst of events is gathered into one message, and its maximum size */
const BATCH_MS = 100
const BATCH_MAX = 2000
/** events written by other processes (a CLI run) are found by polling the database this often */
const DB_POLL_MS = 1000

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

  /**
   * Live events of one run (or of all runs without runId), in batches. The bus listener is
   * registered BEFORE the back-fill from the database (events since lastEventId), events are
   * de-duplicated by id, and bursts are gathered for BATCH_MS into one message.
   */
  events: protectedProcedure
    .input(z.object({ runId: id.nullish(), lastEventId: z.string().regex(/^\d+$/).nullish() }).strict())
    .subscription(async function* ({ ctx, input, signal }) {
      const runId = input.runId ?? null
      let last = input.lastEventId != null ? Number(input.lastEventId) : -1
      const queue: RunEvent[] = []
      let wake: (() => void) | null = null
      const unsub = subscribe(runId, (evs) => {
        for (const e of evs) if (e.type !== 'control') queue.push(e)
        wake?.()
      })
      const sleep = (ms: number) =>
        new Promise<void>((res) => {
          const tm = setTimeout(done, ms)
          function done() {
            clearTimeout(tm)
            wake = null
            signal?.removeEventListener('abort', done)
            res()
          }
          wake = done
          signal?.addEventListener('abort', done)
        })
      try {
        if (last < 0) {
          // no resume point: start from now
          const lastRow = await ctx.db.event.findFirst({
            where: runId ? { runId } : {},
            orderBy: { id: 'desc' },
            select: { id: true },
          })
          last = lastRow?.id ?? 0
        }
        let lastPoll = 0
        while (!signal?.aborted) {
          const batch: RunEvent[] = []
          if (Date.now() - lastPoll >= DB_POLL_MS) {
            // the back-fill (first round) and events of runs owned by another process (a CLI run)
            lastPoll = Date.now()
            batch.push(...((await runs.eventsSince(ctx.db, runId, last, BATCH_MAX)) as RunEvent[]))
          }
          batch.push(...queue.splice(0))
          const seen = new Set<number>()
          const fresh = batch
            .filter((e) => e.id > last && !seen.has(e.id) && (seen.add(e.id), true))
            .sort((a, b) => a.id - b.id)
          if (fresh.length > BATCH_MAX) {
            queue.unshift(...fresh.splice(BATCH_MAX))
            lastPoll = 0
          } else if (batch.length >= BATCH_MAX) lastPoll = 0 // the back-fill has more
          if (fresh.length) {
            last = fresh[fresh.length - 1].id
            yield tracked(String(last), { events: fresh })
          }
          if (lastPoll === 0) continue
          if (!queue.length) await sleep(DB_POLL_MS)
          // gather the rest of a burst into the next message
          if (queue.length && !signal?.aborted) await new Promise((r) => setTimeout(r, BATCH_MS))
        }
      } finally {
        unsub()
      }
    }),
})
