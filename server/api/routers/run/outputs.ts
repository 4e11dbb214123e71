/**
 * What the `run.*` queries may send to the browser, field by field. Each query declares its output
 * with one of these schemas (`.output()`): tRPC validates the domain's answer against it and zod
 * drops every key it does not name, so whatever the domain adds by accident (a new database column,
 * a run's OS user, a credential path, another account's data) never leaves the server until it is
 * added here on purpose. The browser's types are inferred from these schemas, so a field the UI
 * reads and this file does not name fails the typecheck.
 */
import { z } from 'zod'
import { PoolProblemSchema } from '../../../execution/events.ts'
import { RUN_STATES } from '../../../execution/types.ts'
import type { ExecutionPlan } from '../../../workflow/types.ts'

const when = z.date()
const maybeWhen = z.date().nullable()
const counts = z.record(z.string(), z.number())

/** what every view of a run names: which workflow version, where it ran, when, and how it ended */
const runIdentity = {
  id: z.string(),
  workflowId: z.string(),
  workflowName: z.string(),
  versionId: z.string(),
  versionNumber: z.number(),
}
const runPlacement = { backend: z.string(), strategy: z.string(), source: z.string() }
const runTimes = {
  createdAt: when,
  startedAt: maybeWhen,
  finishedAt: maybeWhen,
  durationMs: z.number().nullable(),
  error: z.string().nullable(),
}

export const RunListOutput = z.object({
  items: z.array(
    z.object({
      ...runIdentity,
      state: z.string(),
      ...runPlacement,
      ...runTimes,
      owner: z.string().nullable(),
      site: z.string().nullable(),
      counts,
      total: z.number(),
    }),
  ),
  nextCursor: z.string().nullable(),
  matching: z.number(),
})

const WorkerRow = z.object({
  id: z.string(),
  runId: z.string(),
  pool: z.string(),
  state: z.string(),
  kind: z.string(),
  batchJobId: z.string().nullable(),
  host: z.string().nullable(),
  pid: z.number().nullable(),
  reason: z.string().nullable(),
  currentTaskId: z.string().nullable(),
  createdAt: when,
  startedAt: maybeWhen,
  endedAt: maybeWhen,
})

export const RunGetOutput = z.object({
  run: z.object({
    ...runIdentity,
    state: z.enum(RUN_STATES),
    ...runPlacement,
    runDir: z.string().nullable(),
    ...runTimes,
    reusedFrom: z.string().nullable(),
    rerunFromStage: z.string().nullable(),
  }),
  // the frozen plan is compiled from the workflow's text, which every reader may read (secrets are
  // refused by the compiler: credentials are references); passed whole, as the plan panel draws it
  plan: z.custom<ExecutionPlan>((v) => typeof v === 'object' && v !== null),
  counts,
  total: z.number(),
  stages: z.array(
    z.object({
      id: z.string(),
      op: z.string(),
      pool: z.string(),
      needs: z.array(z.string()),
      counts,
      total: z.number(),
      done: z.number(),
    }),
  ),
  pools: z.array(
    z.object({
      name: z.string(),
      workers: z.number(),
      resources: z.object({
        cpus: z.number(),
        memoryBytes: z.number().nullable(),
        gpus: z.number(),
        diskBytes: z.number().nullable(),
      }),
      stages: z.array(z.string()),
      live: z.array(WorkerRow),
    }),
  ),
  lastEventId: z.number(),
})

export const RunTasksOutput = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      runId: z.string(),
      stageId: z.string(),
      partitionKey: z.string().nullable(),
      partitionIndex: z.number().nullable(),
      state: z.string(),
      attempt: z.number(),
      maxRetries: z.number(),
      pool: z.string(),
      workerId: z.string().nullable(),
      exitCode: z.number().nullable(),
      signal: z.string().nullable(),
      reason: z.string().nullable(),
      message: z.string().nullable(),
      createdAt: when,
      startedAt: maybeWhen,
      finishedAt: maybeWhen,
      durationMs: z.number().nullable(),
      batchJobId: z.string().nullable(),
      pid: z.number().nullable(),
      host: z.string().nullable(),
      outputs: z.unknown(),
      modifiers: z.unknown(),
      metrics: z.unknown(),
      queuedAt: maybeWhen,
    }),
  ),
  total: z.number(),
  nextCursor: z.number().nullable(),
})

export const RunArtifactsOutput = z.array(
  z.object({
    id: z.string(),
    runId: z.string(),
    taskId: z.string().nullable(),
    name: z.string(),
    kind: z.string(),
    mime: z.string(),
    path: z.string(),
    size: z.number(),
    meta: z.record(z.string(), z.unknown()),
    createdAt: when,
  }),
)

export const RunHepProgressOutput = z.array(
  z.object({
    stage: z.string(),
    op: z.string(),
    dataset: z.string(),
    total: z.number(),
    done: z.number(),
    failed: z.number(),
    running: z.number(),
    events: z.number(),
    selected: z.number(),
    results: z
      .object({
        included: z.number(),
        total: z.number(),
        final: z.boolean(),
        events: z.number(),
        selected: z.number(),
        histograms: z.array(
          z.object({ name: z.string(), title: z.string(), entries: z.number(), missing: z.number() }),
        ),
        cutflow: z
          .object({
            columns: z.array(z.string()),
            rows: z.array(z.object({ depth: z.number(), kind: z.string(), cells: z.array(z.string()) })),
          })
          .nullable(),
      })
      .nullable(),
  }),
)

export const RunPoolProfileOutput = z.array(
  z.object({
    pool: z.string(),
    tasks: z.number(),
    totalCpuSeconds: z.number(),
    meanCpuSeconds: z.number(),
    totalWallSeconds: z.number(),
    maxPeakRssBytes: z.number().nullable(),
  }),
)

export const RunJobScriptOutput = z.object({
  taskId: z.string(),
  runId: z.string(),
  state: z.string(),
  attempt: z.number(),
  pool: z.string(),
  batchJobId: z.string().nullable(),
  workerId: z.string().nullable(),
  host: z.string().nullable(),
  reason: z.string().nullable(),
  strategy: z.string(),
  backend: z.string(),
  submittedAttempt: z.number().nullable(),
  files: z.array(z.object({ label: z.string(), path: z.string(), text: z.string(), truncated: z.boolean() })),
  note: z.string().nullable(),
})

const DaskWorkerView = z.object({
  id: z.string(),
  name: z.string(),
  pool: z.string(),
  state: z.enum(['requested', 'pending-in-queue', 'running', 'gone']),
  detail: z.string(),
  batch: z.string(),
  jobId: z.string().nullable(),
  host: z.string().nullable(),
  pid: z.number().nullable(),
  address: z.string().nullable(),
  connected: z.boolean(),
  reason: z.string().nullable(),
  currentTaskId: z.string().nullable(),
  restarts: z.number(),
})

export const RunBackendInfoOutput = z.object({
  runId: z.string(),
  backend: z.string(),
  strategy: z.string(),
  dask: z
    .object({
      strategy: z.enum(['local', 'slurm', 'htcondor']),
      external: z.boolean(),
      python: z.string().nullable(),
      scheduler: z.object({
        address: z.string().nullable(),
        dashboard: z.string().nullable(),
        health: z.string().nullable(),
        pid: z.number().nullable(),
      }),
      pools: z
        .array(
          z.object({
            name: z.string(),
            target: z.number(),
            exhausted: z.boolean(),
            reason: z.string().nullable(),
            connected: z.number(),
            workers: z.array(DaskWorkerView),
          }),
        )
        // read from <run>/dask/session.json: a file of another version shows no pools, not an error
        .catch([]),
      updatedAt: z.string().nullable(),
    })
    .nullable(),
  note: z.string().nullable(),
})

export const RunLogLinesOutput = z.object({
  lines: z.array(
    z.object({
      taskId: z.string(),
      stage: z.string(),
      partition: z.string().nullable(),
      pool: z.string(),
      state: z.string(),
      stream: z.enum(['stdout', 'stderr']),
      at: z.number().nullable(),
      text: z.string(),
    }),
  ),
  tasks: z.number(),
  total: z.number(),
  nextCursor: z.number().nullable(),
  truncated: z.boolean(),
})

export const RunPreviewOutput = z.object({
  problems: z.array(PoolProblemSchema),
  pools: z.array(
    z.object({
      pool: z.string(),
      submission: z.object({ kind: z.string(), text: z.string(), problems: z.array(PoolProblemSchema) }).nullable(),
      error: z.string().optional(),
    }),
  ),
})
