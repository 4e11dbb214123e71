/**
 * `controlroom run FILE [--backend B] [--strategy S] [--json]`
 *
 * Saves FILE as a workflow version (the workflow with the same name, else a new one; an unchanged
 * text reuses the head version) in the same database as the dashboard, then runs it through the
 * same engine in this process: the run appears live in the dashboard. Prints progress and a
 * summary. Ctrl-C cancels the run (a second Ctrl-C leaves at once; the server adopts the run).
 * Exit codes: 0 the run succeeded; 1 it failed, was cancelled or was refused; 2 usage errors.
 *
 * Only types come from ../main.ts (no import cycle); heavy modules load lazily.
 */
import path from 'node:path'
import { readFile } from 'node:fs/promises'
import type { CliIO, Command, ParsedArgs } from '../main.ts'
import { formatElapsed } from '../../format.ts'

const EXIT_OK = 0
const EXIT_FAILED = 1
const EXIT_USAGE = 2

function usage(io: CliIO, msg: string): number {
  io.stderr.write(
    `controlroom run: ${msg}\nUsage: controlroom run FILE [--backend local|dask] [--strategy local|slurm|htcondor] [--json]\n`,
  )
  return EXIT_USAGE
}

/** saves the text as a version of the workflow named like it (its compiled plan's name); returns the version */
async function saveFileVersion(yaml: string, file: string, planName: string | undefined) {
  const { getDb } = await import('../../db/client.ts')
  const { saveVersion } = await import('../../library/workflows.ts')
  const { localUserName } = await import('../../auth/core.ts')
  const db = getDb()
  const actor = { id: null, name: localUserName(), mode: 'token' as const, admin: true }
  const name = planName || path.basename(file).replace(/\.(ya?ml)$/i, '')
  const existing = await db.workflow.findFirst({
    where: { name, deletedAt: null },
    orderBy: { updatedAt: 'desc' },
    select: { id: true, headVersionId: true },
  })
  const saved = await saveVersion(
    db,
    actor,
    existing
      ? {
          workflowId: existing.id,
          parentVersionId: existing.headVersionId,
          yaml,
          message: `controlroom run ${path.basename(file)}`,
        }
      : { yaml, name, message: `controlroom run ${path.basename(file)}` },
  )
  return saved
}

export function runCommand(): Command {
  return {
    name: 'run',
    summary: 'save a workflow as a new version and run it here (live in the dashboard too); exit 1 when the run fails',
    usage: 'run FILE [--backend B] [--strategy S] [--json]',
    flags: ['backend=', 'strategy=', 'json'],
    run: (args, io) => runMain(args, io),
  }
}

async function runMain(args: ParsedArgs, io: CliIO): Promise<number> {
  const file = args.positional[0]
  if (args.positional.length !== 1 || file === undefined)
    return usage(
      io,
      args.positional.length ? `expected one FILE, got ${args.positional.length}` : 'missing FILE argument',
    )
  const backend = typeof args.flags.backend === 'string' ? args.flags.backend : undefined
  const strategy = typeof args.flags.strategy === 'string' ? args.flags.strategy : undefined
  if (backend && !['local', 'dask'].includes(backend)) return usage(io, `unknown backend '${backend}' (local, dask)`)
  if (strategy && !['local', 'slurm', 'htcondor'].includes(strategy))
    return usage(io, `unknown strategy '${strategy}' (local, slurm, htcondor)`)
  const json = args.flags.json === true
  let yaml: string
  try {
    yaml = await (io.readFile ?? ((p: string) => readFile(p, 'utf8')))(file)
  } catch (e) {
    return usage(
      io,
      `cannot read '${file}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    )
  }

  // the user's own file, in the user's own process: compiled on this thread, no compile workers
  const { compileOnThisThread } = await import('../../library/compile-pool.ts')
  compileOnThisThread()
  const { migrateDatabase, currentDbUrl } = await import('../../db/client.ts')
  await migrateDatabase(currentDbUrl())
  const { getEngine, setEngine } = await import('../../execution/engine.ts')
  const { startRun, getRun, listTasks } = await import('../../execution/runs.ts')
  const { subscribe } = await import('../../execution/bus.ts')
  const { isDomainError } = await import('../../errors.ts')

  // the compiler's warnings, with their positions, as `controlroom validate` prints them
  const { compileWorkflow } = await import('../../workflow/index.ts')
  const { renderProblem } = await import('../render.ts')
  // --backend / --strategy are checked as if written in the file (a packed environment under
  // --strategy local is refused the same way), with the file's positions; the same compile names
  // the workflow the version is saved under
  const overrides = backend || strategy ? { ...(backend ? { backend } : {}), ...(strategy ? { strategy } : {}) } : null
  const compiled = compileWorkflow(yaml, { fileName: file, forRun: true, ...(overrides ? { overrides } : {}) })
  let saved
  try {
    // a file that cannot run (no plan) is still saved under its name, as the editor would
    const name = compiled.plan?.name ?? compileWorkflow(yaml, { fileName: file }).plan?.name
    saved = await saveFileVersion(yaml, file, name)
  } catch (e) {
    io.stderr.write(`controlroom run: cannot save ${file}: ${(e as Error).message}\n`)
    return EXIT_FAILED
  }
  const out = (s: string) => {
    if (!json) io.stdout.write(s + '\n')
  }
  const warnings = compiled.problems.filter((p) => p.severity === 'warning')
  if (!json) for (const w of warnings) io.stderr.write(renderProblem(w, file, yaml, io.color === true) + '\n')
  const errors = compiled.problems.filter((p) => p.severity === 'error')
  if (errors.length) {
    if (json)
      io.stdout.write(
        JSON.stringify(
          {
            ok: false,
            refused: true,
            message: `${file} cannot run${overrides ? ' with the given overrides' : ''}`,
            problems: errors.map((p) => ({
              code: p.code,
              message: p.message,
              line: p.range.start.line,
              col: p.range.start.col,
              ...(p.hint ? { hint: p.hint } : {}),
            })),
          },
          null,
          2,
        ) + '\n',
      )
    else for (const p of errors) io.stderr.write(renderProblem(p, file, yaml, io.color === true) + '\n')
    return EXIT_FAILED
  }
  /** queue, pending and hold reasons seen while tasks waited (last per task) */
  const waits = new Map<string, { stage: string; reason: string }>()
  out(
    `${file}: workflow "${saved.workflow.name}" version ${saved.version.number}${saved.unchanged ? ' (unchanged)' : ''}`,
  )

  const engine = getEngine()
  const stageOf = new Map<string, string>()
  let runId = ''
  const early: { type: string; taskId: string | null; payload: Record<string, unknown> }[] = []
  let total = 0
  const counts: Record<string, number> = {}
  let lastSummary = 0
  const verbose = () => total > 0 && total <= 50
  const t0 = Date.now()
  const onEvent = (e: { type: string; taskId: string | null; payload: Record<string, unknown> }) => {
    if (e.type === 'task.info' && e.taskId) {
      // why a task still waits: Slurm pending reasons, HTCondor hold reasons, Dask queue states
      const reason = String((e.payload as { reason?: unknown }).reason ?? '')
      const stage = stageOf.get(e.taskId) ?? e.taskId
      if (reason && waits.get(e.taskId)?.reason !== reason) {
        waits.set(e.taskId, { stage, reason })
        out(`  ${formatElapsed(Date.now() - t0).padStart(8)}  ${stage.padEnd(24)} waiting: ${reason}`)
      }
    } else if (e.type === 'worker.state') {
      const p = e.payload as { to?: string; pool?: string; reason?: string | null }
      if (p.reason && (p.to === 'pending-in-queue' || p.to === 'gone'))
        out(`  ${formatElapsed(Date.now() - t0).padStart(8)}  worker of pool ${p.pool ?? '?'} ${p.to}: ${p.reason}`)
    } else if (e.type === 'task.state') {
      const p = e.payload as { from: string; to: string; stage: string; reason?: string | null; attempt?: number }
      if (e.taskId) stageOf.set(e.taskId, p.stage)
      if (p.from) counts[p.from] = Math.max(0, (counts[p.from] ?? 0) - 1)
      counts[p.to] = (counts[p.to] ?? 0) + 1
      if (verbose() && p.to !== 'queued')
        out(
          `  ${formatElapsed(Date.now() - t0).padStart(8)}  ${p.stage.padEnd(24)} ${p.to}${p.reason ? `: ${p.reason}` : ''}${p.attempt ? ` (attempt ${p.attempt + 1})` : ''}`,
        )
    } else if (e.type === 'run.state') {
      const p = e.payload as { to: string; reason?: string | null; tasks?: number }
      if (p.tasks) {
        total = p.tasks
        counts.pending = p.tasks
      }
      out(`run ${runId}: ${p.to}${p.reason ? ` (${p.reason})` : ''}`)
    } else if (e.type === 'run.log' && (e.payload as { level?: string }).level !== 'info') {
      out(`  ${String((e.payload as { message?: string }).message)}`)
    }
    if (!verbose() && Date.now() - lastSummary > 2000 && total > 0) {
      lastSummary = Date.now()
      out(
        `  ${formatElapsed(Date.now() - t0).padStart(8)}  ${Object.entries(counts)
          .filter(([, n]) => n > 0)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ')}`,
      )
    }
  }
  const unsub = subscribe(null, (evs) => {
    for (const e of evs) {
      if (!runId) early.push(e)
      else if (e.runId === runId) onEvent(e)
    }
  })

  let cancelling = false
  const onSigint = () => {
    if (cancelling) {
      io.stderr.write('\ncontrolroom run: leaving; the run goes on and the server will adopt it\n')
      process.exit(130)
    }
    cancelling = true
    io.stderr.write('\ncontrolroom run: cancelling the run (Ctrl-C again to leave at once)\n')
    void engine.cancelRun(runId).catch(() => {})
  }
  try {
    try {
      const r = await startRun(
        {
          versionId: saved.version.id,
          overrides: backend || strategy ? { backend, strategy } : undefined,
          source: 'cli',
        },
        engine,
      )
      runId = r.runId
      for (const w of r.warnings) out(`warning: ${w.pool ? `pool '${w.pool}': ` : ''}${w.message}`)
    } catch (e) {
      if (isDomainError(e)) {
        const problems = (e.details?.problems as { message: string; pool?: string | null }[] | undefined) ?? []
        if (json)
          io.stdout.write(JSON.stringify({ ok: false, refused: true, message: e.message, problems }, null, 2) + '\n')
        else {
          io.stderr.write(`controlroom run: ${e.message}\n`)
        }
        return EXIT_FAILED
      }
      throw e
    }
    for (const e of early.splice(0)) if ((e as { runId?: string }).runId === runId) onEvent(e)
    process.on('SIGINT', onSigint)
    // the summary's queries, asked once while the tasks run: Prisma prepares each query shape on its
    // first use (hundreds of ms of this thread), which would otherwise come after the last task
    void getRun(engine.db, runId).catch(() => {})
    void liveWorkers(engine.db, runId).catch(() => {})
    const state = await engine.waitForRun(runId)
    const info = await getRun(engine.db, runId)
    // the tasks to name: only looked up when the counts say there are some
    const none = { items: [] as Awaited<ReturnType<typeof listTasks>>['items'] }
    const failedTasks =
      (info.counts.failed ?? 0) + (info.counts.lost ?? 0) > 0
        ? await listTasks(engine.db, { runId, state: ['failed', 'lost'], limit: 20 })
        : none
    const skippedTasks =
      (info.counts.skipped ?? 0) > 0 ? await listTasks(engine.db, { runId, state: 'skipped', limit: 20 }) : none
    const skipped = skippedTasks.items.map((t) => ({ id: t.id, stage: t.stageId, reason: t.reason }))
    const { failedTaskReport } = await import('./failed.ts')
    const failed = await Promise.all(failedTasks.items.map((t) => failedTaskReport(info.run.runDir ?? '', t)))
    // a backend's session (a Dask cluster) may still be stopping its workers: wait for their last
    // states to be stored before the database closes (else they stay `running` forever)
    await settleWorkers(engine, runId, io, json)
    if (json) {
      io.stdout.write(
        JSON.stringify(
          {
            ok: state === 'succeeded',
            runId,
            state,
            workflowId: saved.workflow.id,
            versionId: saved.version.id,
            durationMs: info.run.durationMs,
            counts: info.counts,
            stages: info.stages.map((s) => ({ id: s.id, pool: s.pool, counts: s.counts })),
            failed,
            skipped,
            warnings: warnings.map((w) => ({
              code: w.code,
              message: w.message,
              line: w.range.start.line,
              col: w.range.start.col,
              ...(w.hint ? { hint: w.hint } : {}),
            })),
            waits: [...waits].map(([task, w]) => ({ task, stage: w.stage, reason: w.reason })),
            runDir: info.run.runDir,
          },
          null,
          2,
        ) + '\n',
      )
    } else {
      out('')
      out(
        `run ${runId} ${state} in ${formatElapsed(info.run.durationMs ?? 0)}  (${Object.entries(info.counts)
          .map(([s, n]) => `${n} ${s}`)
          .join(', ')})`,
      )
      for (const s of info.stages)
        out(
          `  ${s.id.padEnd(24)} pool ${s.pool.padEnd(14)} ${s.done}/${s.total} succeeded${Object.entries(s.counts)
            .filter(([k]) => k !== 'succeeded')
            .map(([k, n]) => `, ${n} ${k}`)
            .join('')}`,
        )
      for (const t of failed) {
        out(
          `  failed: ${t.stage} (${t.id}): ${t.reason ?? 'failed'}${t.exitCode != null ? ` (exit ${t.exitCode})` : ''}`,
        )
        for (const line of t.logTail) out(`    | ${line}`)
        out(`    logs: ${t.logDir}`)
      }
      for (const t of skipped) out(`  skipped: ${t.stage} (${t.id}): ${t.reason ?? 'an upstream task did not succeed'}`)
      out(`logs and results: ${info.run.runDir}`)
    }
    return state === 'succeeded' ? EXIT_OK : EXIT_FAILED
  } finally {
    process.off('SIGINT', onSigint)
    unsub()
    await engine.shutdown({ detach: true }).catch(() => {})
    setEngine(undefined)
    await engine.db.$disconnect().catch(() => {})
  }
}

/** how many of the run's workers are not `gone` yet */
function liveWorkers(db: import('../../db/client.ts').Db, runId: string): Promise<number> {
  return db.worker.count({ where: { runId, state: { not: 'gone' } } })
}

/** Wait (up to 20 s) until the run's workers are `gone` and every event is stored. */
async function settleWorkers(
  engine: { db: import('../../db/client.ts').Db; flush(): Promise<void> },
  runId: string,
  io: CliIO,
  json: boolean,
): Promise<void> {
  const until = Date.now() + 20_000
  let told = false
  for (;;) {
    await engine.flush().catch(() => {})
    const left = await liveWorkers(engine.db, runId).catch(() => 0)
    if (left === 0 || Date.now() > until) {
      if (left > 0)
        io.stderr.write(`controlroom run: ${left} worker(s) of run ${runId} did not report stopping within 20 s\n`)
      return
    }
    if (!told && !json) io.stdout.write(`  waiting for ${left} worker(s) to stop\n`)
    told = true
    await new Promise((r) => setTimeout(r, 200))
  }
}
