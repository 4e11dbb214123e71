/** `controlroom runs [--limit N] [--workflow ID] [--state S] [--json]`: the latest runs. */
import type { CliIO, Command, ParsedArgs } from '../main.ts'
import { failedTaskReport, type FailedTaskReport } from './failed.ts'
import { LIVE_RUN_STATES } from '../../execution/vocabulary.ts'
import { formatElapsed } from '../../format.ts'

export function runsCommand(): Command {
  return {
    name: 'runs',
    summary: 'list the latest runs (state, workflow, backend/strategy, task counts)',
    usage: 'runs [--limit N] [--workflow ID] [--state S] [--json]',
    flags: ['limit=', 'workflow=', 'state=', 'json'],
    run: (args, io) => runsMain(args, io),
  }
}

async function runsMain(args: ParsedArgs, io: CliIO): Promise<number> {
  const limit = args.flags.limit === undefined ? 20 : Number(args.flags.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
    io.stderr.write(
      `controlroom runs: --limit must be an integer from 1 to 200\nUsage: controlroom runs [--limit N] [--workflow ID] [--state S] [--json]\n`,
    )
    return 2
  }
  const { getDb, migrateDatabase, currentDbUrl } = await import('../../db/client.ts')
  await migrateDatabase(currentDbUrl())
  const { listRuns } = await import('../../execution/runs.ts')
  const db = getDb()
  try {
    const res = await listRuns(db, {
      limit,
      workflowId: typeof args.flags.workflow === 'string' ? args.flags.workflow : undefined,
      state: typeof args.flags.state === 'string' ? args.flags.state : undefined,
    })
    if (args.flags.json === true) {
      io.stdout.write(JSON.stringify(await withDetails(db, res.items), null, 2) + '\n')
      return 0
    }
    if (res.items.length === 0) {
      io.stdout.write('no runs\n')
      return 0
    }
    const rows = res.items.map((r) => [
      r.id,
      r.state,
      `${r.workflowName} v${r.versionNumber}`,
      `${r.backend}/${r.strategy}`,
      `${r.counts.succeeded ?? 0}/${r.total}`,
      r.durationMs == null ? '-' : formatElapsed(r.durationMs),
      r.createdAt.toISOString().replace('T', ' ').slice(0, 19),
      r.source,
    ])
    const head = ['RUN', 'STATE', 'WORKFLOW', 'BACKEND', 'DONE', 'TIME', 'CREATED', 'FROM']
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
    for (const r of [head, ...rows])
      io.stdout.write(
        r
          .map((c, i) => c.padEnd(w[i] ?? 0))
          .join('  ')
          .trimEnd() + '\n',
      )
    return 0
  } finally {
    await db.$disconnect().catch(() => {})
  }
}

/**
 * Each run with what the human output of `controlroom run` says: the compile warnings of its plan,
 * its failed tasks with the last lines of their logs (up to 5 per run), and while it is live the
 * reasons its queued tasks wait (up to 10).
 */
const LIVE: ReadonlySet<string> = new Set(LIVE_RUN_STATES)
async function withDetails<T extends { id: string; state: string }>(
  db: import('../../db/client.ts').Db,
  items: T[],
): Promise<(T & { warnings: unknown[]; failed: FailedTaskReport[]; waiting: unknown[] })[]> {
  const { listTasks } = await import('../../execution/runs.ts')
  const rows = await db.run.findMany({
    where: { id: { in: items.map((r) => r.id) } },
    select: { id: true, plan: true, runDir: true },
  })
  const byId = new Map(rows.map((r) => [r.id, r]))
  return Promise.all(
    items.map(async (r) => {
      const row = byId.get(r.id)
      let warnings: unknown[] = []
      try {
        const plan = JSON.parse(row?.plan ?? '{}') as {
          warnings?: {
            code: string
            message: string
            hint?: string
            range?: { start: { line: number; col: number } }
          }[]
        }
        warnings = (plan.warnings ?? []).map((w) => ({
          code: w.code,
          message: w.message,
          line: w.range?.start.line,
          col: w.range?.start.col,
          ...(w.hint ? { hint: w.hint } : {}),
        }))
      } catch {
        /* an unreadable plan has no warnings to show */
      }
      const failed =
        r.state === 'failed'
          ? await Promise.all(
              (await listTasks(db, { runId: r.id, state: ['failed', 'lost'], limit: 5 })).items.map((t) =>
                failedTaskReport(row?.runDir ?? '', t),
              ),
            )
          : []
      // why its tasks still wait (Slurm pending / HTCondor hold reasons), while the run is live
      const waiting = LIVE.has(r.state)
        ? (await listTasks(db, { runId: r.id, state: 'queued', limit: 200 })).items
            .filter((t) => t.reason)
            .slice(0, 10)
            .map((t) => ({ task: t.id, stage: t.stageId, reason: t.reason }))
        : []
      return { ...r, warnings, failed, waiting }
    }),
  )
}
