/**
 * The engine's write path: every batch of state changes + their events goes to the database in ONE
 * transaction; only after it commits are the events (with their ids) emitted on the bus.
 *
 * SQLite (the embedded default): a dedicated better-sqlite3 connection with prepared statements
 * (Prisma's per-statement cost is ~0.3 ms, far too slow for 10,000-task runs: this path writes
 * ~30,000 events + 10,000 task updates in well under a second). Same file, WAL, busy timeout, so the
 * Prisma client of the app (reads, other models) and this connection coexist, also across processes.
 * PostgreSQL: the same batches on a node-postgres connection of the engine's own (PgStore: one
 * INSERT for all events, one UPDATE per set of task columns, one transaction); the rest via Prisma.
 */
import Database from 'better-sqlite3'
import type { Db } from '../db/client.ts'
import { providerOf, sqlitePath } from '../db/url.ts'
import { parseRunEvent, type NewRunEvent, type RunEvent } from './events.ts'

export interface RunRow {
  id: string
  workflowId: string
  versionId: string
  plan: string
  planHash: string
  state: string
  backend: string
  strategy: string
  options: string
  runDir: string
  ownerId: string | null
  source: string
  createdAt: Date
}

export interface TaskRow {
  id: string
  runId: string
  stageId: string
  partitionKey: string | null
  partitionIndex: number | null
  state: string
  attempt: number
  maxRetries: number
  pool: string
  modifiers: string | null
  createdAt: Date
  // for tasks created already finished (re-run reuses upstream outputs)
  reason?: string | null
  message?: string | null
  exitCode?: number | null
  startedAt?: Date | null
  finishedAt?: Date | null
  durationMs?: number | null
  outputs?: string | null
  metrics?: string | null
}

export interface TaskPatch {
  state?: string
  attempt?: number
  maxRetries?: number
  workerId?: string | null
  exitCode?: number | null
  signal?: string | null
  reason?: string | null
  message?: string | null
  startedAt?: Date | null
  finishedAt?: Date | null
  durationMs?: number | null
  batchJobId?: string | null
  pid?: number | null
  host?: string | null
  outputs?: string | null
  metrics?: string | null
}

export interface WorkerRow {
  id: string
  runId: string
  pool: string
  state: string
  kind: string
  batchJobId: string | null
  host: string | null
  pid: number | null
  reason: string | null
  currentTaskId: string | null
  createdAt: Date
  startedAt: Date | null
}

export interface WorkerPatch {
  state?: string
  batchJobId?: string | null
  host?: string | null
  pid?: number | null
  reason?: string | null
  currentTaskId?: string | null
  startedAt?: Date | null
  endedAt?: Date | null
}

export interface RunPatch {
  state?: string
  startedAt?: Date | null
  finishedAt?: Date | null
  error?: string | null
  options?: string
}

/** an event to store: its type decides its payload (events.ts) */
export type NewEvent = NewRunEvent & { at: Date }

export interface WriteBatch {
  events: NewEvent[]
  tasks: Map<string, TaskPatch>
  newWorkers: WorkerRow[]
  workers: Map<string, WorkerPatch>
  runs: Map<string, RunPatch>
}

export function emptyBatch(): WriteBatch {
  return { events: [], tasks: new Map(), newWorkers: [], workers: new Map(), runs: new Map() }
}

export function batchSize(b: WriteBatch): number {
  return b.events.length + b.tasks.size + b.newWorkers.length + b.workers.size + b.runs.size
}

export interface EngineStore {
  readonly provider: 'sqlite' | 'postgresql'
  insertRun(run: RunRow, tasks: TaskRow[], events: NewEvent[]): Promise<RunEvent[]>
  insertTasks(tasks: TaskRow[]): Promise<void>
  write(batch: WriteBatch): Promise<RunEvent[]>
  /**
   * `control` events of these runs with id > afterId (requests from other processes), and the id
   * the next look may start after (`scannedTo`): every event up to it has been looked at, so a poll
   * does not scan the whole run's events again (they grow by three per task)
   */
  controlEvents(runIds: string[], afterId: number): Promise<{ events: RunEvent[]; scannedTo: number }>
  maxEventId(): Promise<number>
  close(): void
}

// ------------------------------------------------------------------ SQLite

const iso = (d: Date | null | undefined) => (d == null ? null : d.toISOString().replace('Z', '+00:00'))

function sqlValue(v: unknown): unknown {
  if (v instanceof Date) return iso(v)
  if (v === undefined) return null
  if (typeof v === 'boolean') return v ? 1 : 0
  return v
}

class SqliteStore implements EngineStore {
  readonly provider = 'sqlite' as const
  private db: Database.Database
  private stmtCache = new Map<string, Database.Statement>()
  private insertEvent: Database.Statement
  private insertTask: Database.Statement
  private insertWorker: Database.Statement

  constructor(file: string) {
    this.db = new Database(file, { timeout: 15_000 })
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    this.db.pragma('foreign_keys = ON')
    this.db.pragma('busy_timeout = 15000')
    this.insertEvent = this.db.prepare(
      'INSERT INTO "Event" ("runId","at","type","taskId","workerId","payload") VALUES (?,?,?,?,?,?)',
    )
    this.insertTask = this.db.prepare(
      'INSERT INTO "Task" ("id","runId","stageId","partitionKey","partitionIndex","state","attempt","maxRetries","pool","modifiers","createdAt","reason","message","exitCode","startedAt","finishedAt","durationMs","outputs","metrics") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
    )
    this.insertWorker = this.db.prepare(
      'INSERT INTO "Worker" ("id","runId","pool","state","kind","batchJobId","host","pid","reason","currentTaskId","createdAt","startedAt") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
    )
  }

  private update(table: string, id: string, patch: Record<string, unknown>) {
    const keys = Object.keys(patch).filter((k) => patch[k] !== undefined)
    if (keys.length === 0) return
    const sig = `${table}:${keys.join(',')}`
    let st = this.stmtCache.get(sig)
    if (!st) {
      st = this.db.prepare(`UPDATE "${table}" SET ${keys.map((k) => `"${k}" = ?`).join(', ')} WHERE "id" = ?`)
      this.stmtCache.set(sig, st)
    }
    st.run(...keys.map((k) => sqlValue(patch[k])), id)
  }

  private addEvents(events: NewEvent[]): RunEvent[] {
    const out: RunEvent[] = []
    for (const e of events) {
      const at = iso(e.at)!
      const info = this.insertEvent.run(e.runId, at, e.type, e.taskId, e.workerId, JSON.stringify(e.payload))
      out.push({ ...e, id: Number(info.lastInsertRowid), at: e.at.toISOString() } as RunEvent)
    }
    return out
  }

  private addTasks(tasks: TaskRow[]) {
    for (const t of tasks)
      this.insertTask.run(
        t.id,
        t.runId,
        t.stageId,
        t.partitionKey,
        t.partitionIndex,
        t.state,
        t.attempt,
        t.maxRetries,
        t.pool,
        t.modifiers,
        iso(t.createdAt),
        t.reason ?? null,
        t.message ?? null,
        t.exitCode ?? null,
        iso(t.startedAt),
        iso(t.finishedAt),
        t.durationMs ?? null,
        t.outputs ?? null,
        t.metrics ?? null,
      )
  }

  async insertRun(run: RunRow, tasks: TaskRow[], events: NewEvent[]): Promise<RunEvent[]> {
    const tx = this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO "Run" ("id","workflowId","versionId","plan","planHash","state","backend","strategy","options","runDir","ownerId","source","createdAt") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)',
        )
        .run(
          run.id,
          run.workflowId,
          run.versionId,
          run.plan,
          run.planHash,
          run.state,
          run.backend,
          run.strategy,
          run.options,
          run.runDir,
          run.ownerId,
          run.source,
          iso(run.createdAt),
        )
      this.addTasks(tasks)
      return this.addEvents(events)
    })
    return tx.immediate()
  }

  async insertTasks(tasks: TaskRow[]): Promise<void> {
    this.db.transaction(() => this.addTasks(tasks)).immediate()
  }

  async write(b: WriteBatch): Promise<RunEvent[]> {
    const tx = this.db.transaction(() => {
      for (const w of b.newWorkers)
        this.insertWorker.run(
          w.id,
          w.runId,
          w.pool,
          w.state,
          w.kind,
          w.batchJobId,
          w.host,
          w.pid,
          w.reason,
          w.currentTaskId,
          iso(w.createdAt),
          iso(w.startedAt),
        )
      const stored = this.addEvents(b.events)
      for (const [id, p] of b.tasks) this.update('Task', id, p as Record<string, unknown>)
      for (const [id, p] of b.workers) this.update('Worker', id, p as Record<string, unknown>)
      for (const [id, p] of b.runs) this.update('Run', id, p as Record<string, unknown>)
      return stored
    })
    return tx.immediate()
  }

  async controlEvents(runIds: string[], afterId: number): Promise<{ events: RunEvent[]; scannedTo: number }> {
    if (runIds.length === 0) return { events: [], scannedTo: afterId }
    // SQLite commits one writer at a time and hands out ids in commit order: no event at or below
    // the largest id seen now can appear later, so the next look starts after it
    const scannedTo = (this.db.prepare('SELECT MAX("id") AS m FROM "Event"').get() as { m: number | null }).m ?? afterId
    const rows = this.db
      .prepare(
        `SELECT * FROM "Event" WHERE "type" = 'control' AND "id" > ? AND "id" <= ? AND "runId" IN (${runIds.map(() => '?').join(',')}) ORDER BY "id"`,
      )
      .all(afterId, scannedTo, ...runIds) as {
      id: number
      runId: string
      at: string
      type: string
      taskId: string | null
      workerId: string | null
      payload: string
    }[]
    // written by another process: checked, not trusted
    return {
      events: rows.map((r) =>
        parseRunEvent({ ...r, at: new Date(r.at).toISOString(), payload: JSON.parse(r.payload) }),
      ),
      scannedTo: Math.max(afterId, scannedTo),
    }
  }

  async maxEventId(): Promise<number> {
    const r = this.db.prepare('SELECT MAX("id") AS m FROM "Event"').get() as { m: number | null }
    return r.m ?? 0
  }

  close() {
    try {
      this.db.close()
    } catch {
      /* closed */
    }
  }
}

// ------------------------------------------------------------------ Prisma (PostgreSQL)

/** PostgreSQL through Prisma: inserting a run, reading control events (PgStore adds the batched writes) */
abstract class PrismaStore implements EngineStore {
  readonly provider = 'postgresql' as const
  constructor(protected db: Db) {}

  private async addEvents(tx: Db, events: NewEvent[]): Promise<RunEvent[]> {
    if (events.length === 0) return []
    const rows = await tx.event.createManyAndReturn({
      data: events.map((e) => ({
        runId: e.runId,
        at: e.at,
        type: e.type,
        taskId: e.taskId,
        workerId: e.workerId,
        payload: JSON.stringify(e.payload),
      })),
      select: { id: true },
    })
    const ids = rows.map((r) => r.id).sort((a, b) => a - b)
    return events.map((e, i) => ({ ...e, id: ids[i], at: e.at.toISOString() }) as RunEvent)
  }

  async insertRun(run: RunRow, tasks: TaskRow[], events: NewEvent[]): Promise<RunEvent[]> {
    return this.db.$transaction(
      async (tx) => {
        await tx.run.create({ data: run })
        for (let i = 0; i < tasks.length; i += 2000) await tx.task.createMany({ data: tasks.slice(i, i + 2000) })
        return this.addEvents(tx as unknown as Db, events)
      },
      { timeout: 120_000 },
    )
  }

  async insertTasks(tasks: TaskRow[]): Promise<void> {
    for (let i = 0; i < tasks.length; i += 2000) await this.db.task.createMany({ data: tasks.slice(i, i + 2000) })
  }

  abstract write(batch: WriteBatch): Promise<RunEvent[]>

  async controlEvents(runIds: string[], afterId: number): Promise<{ events: RunEvent[]; scannedTo: number }> {
    if (runIds.length === 0) return { events: [], scannedTo: afterId }
    const rows = await this.db.event.findMany({
      where: { type: 'control', id: { gt: afterId }, runId: { in: runIds } },
      orderBy: { id: 'asc' },
    })
    const events = rows.map((r) => parseRunEvent({ ...r, at: r.at.toISOString(), payload: JSON.parse(r.payload) }))
    // PostgreSQL's sequence ids may commit out of order: only a control event found moves the mark
    return { events, scannedTo: events.reduce((m, ev) => Math.max(m, ev.id), afterId) }
  }

  async maxEventId(): Promise<number> {
    const r = await this.db.event.aggregate({ _max: { id: true } })
    return r._max.id ?? 0
  }

  close() {}
}

/** Task columns an engine patch may set, with their PostgreSQL types (prisma/postgres migrations) */
const TASK_COLUMN_TYPES: Record<keyof TaskPatch, string> = {
  state: 'text',
  attempt: 'integer',
  maxRetries: 'integer',
  workerId: 'text',
  exitCode: 'integer',
  signal: 'text',
  reason: 'text',
  message: 'text',
  startedAt: 'timestamp(3)',
  finishedAt: 'timestamp(3)',
  durationMs: 'double precision',
  batchJobId: 'text',
  pid: 'integer',
  host: 'text',
  outputs: 'text',
  metrics: 'text',
}

/**
 * Task patches as few statements as possible: patches that set the same columns are grouped, and
 * each group is one `UPDATE "Task" ... FROM unnest(...)`: one array parameter per column, so the
 * statement text is the same whatever the number of rows (PostgreSQL plans it once per set of
 * columns; VALUES lists of varying length were a new statement each time).
 */
async function updateTasksInBulk(
  exec: (sql: string, params: unknown[]) => Promise<unknown>,
  tasks: Map<string, TaskPatch>,
): Promise<void> {
  const groups = new Map<string, { cols: (keyof TaskPatch)[]; rows: [string, TaskPatch][] }>()
  for (const [id, p] of tasks) {
    const cols = (Object.keys(p) as (keyof TaskPatch)[]).filter((k) => p[k] !== undefined && k in TASK_COLUMN_TYPES)
    if (cols.length === 0) continue
    cols.sort()
    const key = cols.join(',')
    let g = groups.get(key)
    if (!g) groups.set(key, (g = { cols, rows: [] }))
    g.rows.push([id, p])
  }
  for (const { cols, rows } of groups.values()) {
    const arrays = [rows.map(([id]) => id), ...cols.map((c) => rows.map(([, p]) => pgValue(p[c])))]
    const types = ['text', ...cols.map((c) => TASK_COLUMN_TYPES[c])]
    const sql = `UPDATE "Task" AS t SET ${cols.map((c) => `"${c}" = v."${c}"`).join(', ')} FROM unnest(${types.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ')}) AS v("id", ${cols.map((c) => `"${c}"`).join(', ')}) WHERE t."id" = v."id"`
    await exec(sql, arrays)
  }
}

/** Worker and Run columns an engine patch may set, with their PostgreSQL types */
const WORKER_COLUMN_TYPES: Record<keyof WorkerPatch, string> = {
  state: 'text',
  batchJobId: 'text',
  host: 'text',
  pid: 'integer',
  reason: 'text',
  currentTaskId: 'text',
  startedAt: 'timestamp(3)',
  endedAt: 'timestamp(3)',
}
const RUN_COLUMN_TYPES: Record<keyof RunPatch, string> = {
  state: 'text',
  startedAt: 'timestamp(3)',
  finishedAt: 'timestamp(3)',
  error: 'text',
  options: 'text',
}

/** a value as a PostgreSQL parameter: dates as UTC text (the columns are timestamp without time zone, as Prisma writes them) */
const pgValue = (v: unknown) => (v instanceof Date ? v.toISOString() : (v ?? null))

/**
 * PostgreSQL: the engine's batches on a connection of their own (node-postgres), not through
 * Prisma: a batch is BEGIN, one INSERT of all its events (unnest of one array per column: the same
 * statement text whatever the batch size), one UPDATE per set of task columns, the workers and runs
 * it changed, COMMIT. Prisma's per-query work (compiling each query in its wasm engine, the
 * interactive transaction's bookkeeping) was most of the engine's cost per task here. Everything
 * else (run inserts, reads) stays on Prisma.
 */
class PgStore extends PrismaStore {
  private conn: Promise<import('pg').Client> | null = null

  constructor(
    db: Db,
    private url: string,
  ) {
    super(db)
  }

  private client(): Promise<import('pg').Client> {
    this.conn ??= (async () => {
      const { default: pg } = await import('pg')
      const c = new pg.Client({ connectionString: this.url })
      c.on('error', () => {
        this.conn = null // a broken connection: the next batch opens another
      })
      await c.connect()
      return c
    })().catch((e) => {
      this.conn = null
      throw e
    })
    return this.conn
  }

  /**
   * A run, its tasks and its first events in one transaction on the engine's connection: the tasks
   * as one INSERT of unnest arrays (Prisma's createMany of 10,000 rows cost more than the run's
   * every later write together).
   */
  override async insertRun(run: RunRow, tasks: TaskRow[], events: NewEvent[]): Promise<RunEvent[]> {
    const c = await this.client()
    const q = (sql: string, params: unknown[]) => c.query(sql, params)
    await q('BEGIN', [])
    try {
      await q(
        `INSERT INTO "Run" ("id","workflowId","versionId","plan","planHash","state","backend","strategy","options","runDir","ownerId","source","createdAt")
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13::timestamp(3))`,
        [
          run.id,
          run.workflowId,
          run.versionId,
          run.plan,
          run.planHash,
          run.state,
          run.backend,
          run.strategy,
          run.options,
          run.runDir,
          run.ownerId,
          run.source,
          pgValue(run.createdAt),
        ],
      )
      await insertTaskRows(q, tasks)
      const stored = await insertEventRows(q, events)
      await q('COMMIT', [])
      return stored
    } catch (e) {
      await q('ROLLBACK', []).catch(() => {})
      throw e
    }
  }

  override async insertTasks(tasks: TaskRow[]): Promise<void> {
    const c = await this.client()
    const q = (sql: string, params: unknown[]) => c.query(sql, params)
    await q('BEGIN', [])
    try {
      await insertTaskRows(q, tasks)
      await q('COMMIT', [])
    } catch (e) {
      await q('ROLLBACK', []).catch(() => {})
      throw e
    }
  }

  override async write(b: WriteBatch): Promise<RunEvent[]> {
    const c = await this.client()
    const q = (sql: string, params: unknown[]) => c.query(sql, params)
    await q('BEGIN', [])
    try {
      if (b.newWorkers.length) {
        const w = b.newWorkers
        await q(
          `INSERT INTO "Worker" ("id","runId","pool","state","kind","batchJobId","host","pid","reason","currentTaskId","createdAt","startedAt")
           SELECT * FROM unnest($1::text[],$2::text[],$3::text[],$4::text[],$5::text[],$6::text[],$7::text[],$8::integer[],$9::text[],$10::text[],$11::timestamp(3)[],$12::timestamp(3)[])`,
          [
            w.map((x) => x.id),
            w.map((x) => x.runId),
            w.map((x) => x.pool),
            w.map((x) => x.state),
            w.map((x) => x.kind),
            w.map((x) => x.batchJobId),
            w.map((x) => x.host),
            w.map((x) => x.pid),
            w.map((x) => x.reason),
            w.map((x) => x.currentTaskId),
            w.map((x) => pgValue(x.createdAt)),
            w.map((x) => pgValue(x.startedAt)),
          ],
        )
      }
      const stored = await insertEventRows(q, b.events)
      await updateTasksInBulk(q, b.tasks)
      for (const [id, p] of b.workers) await updateRow(q, 'Worker', WORKER_COLUMN_TYPES, id, p)
      for (const [id, p] of b.runs) await updateRow(q, 'Run', RUN_COLUMN_TYPES, id, p)
      await q('COMMIT', [])
      return stored
    } catch (e) {
      await q('ROLLBACK', []).catch(() => {})
      throw e
    }
  }

  override close() {
    const c = this.conn
    this.conn = null
    void c?.then((x) => x.end()).catch(() => {})
  }
}

type Exec = (sql: string, params: unknown[]) => Promise<{ rows: unknown[] }>

/** task rows as one INSERT of unnest arrays (the same statement text whatever their number) */
async function insertTaskRows(q: Exec, tasks: TaskRow[]): Promise<void> {
  if (tasks.length === 0) return
  const col = <K extends keyof TaskRow>(k: K) => tasks.map((t) => pgValue(t[k]))
  await q(
    `INSERT INTO "Task" ("id","runId","stageId","partitionKey","partitionIndex","state","attempt","maxRetries","pool","modifiers","createdAt","reason","message","exitCode","startedAt","finishedAt","durationMs","outputs","metrics")
     SELECT * FROM unnest($1::text[],$2::text[],$3::text[],$4::text[],$5::integer[],$6::text[],$7::integer[],$8::integer[],$9::text[],$10::text[],$11::timestamp(3)[],$12::text[],$13::text[],$14::integer[],$15::timestamp(3)[],$16::timestamp(3)[],$17::double precision[],$18::text[],$19::text[])`,
    [
      col('id'),
      col('runId'),
      col('stageId'),
      col('partitionKey'),
      col('partitionIndex'),
      col('state'),
      col('attempt'),
      col('maxRetries'),
      col('pool'),
      col('modifiers'),
      col('createdAt'),
      col('reason'),
      col('message'),
      col('exitCode'),
      col('startedAt'),
      col('finishedAt'),
      col('durationMs'),
      col('outputs'),
      col('metrics'),
    ],
  )
}

/** events as one INSERT of unnest arrays; returns them with their ids, in order */
async function insertEventRows(q: Exec, e: NewEvent[]): Promise<RunEvent[]> {
  if (e.length === 0) return []
  const r = await q(
    `INSERT INTO "Event" ("runId","at","type","taskId","workerId","payload")
     SELECT * FROM unnest($1::text[],$2::timestamp(3)[],$3::text[],$4::text[],$5::text[],$6::text[]) RETURNING "id"`,
    [
      e.map((x) => x.runId),
      e.map((x) => x.at.toISOString()),
      e.map((x) => x.type),
      e.map((x) => x.taskId),
      e.map((x) => x.workerId),
      e.map((x) => JSON.stringify(x.payload)),
    ],
  )
  // serial ids are taken in the order of the rows inserted: sorted, they are the events' in order
  const ids = (r.rows as { id: number }[]).map((x) => Number(x.id)).sort((a, z) => a - z)
  return e.map((x, i) => ({ ...x, id: ids[i], at: x.at.toISOString() }) as RunEvent)
}

async function updateRow<P extends object>(
  q: (sql: string, params: unknown[]) => Promise<unknown>,
  table: string,
  types: Record<keyof P, string>,
  id: string,
  patch: P,
): Promise<void> {
  const cols = (Object.keys(patch) as (keyof P & string)[]).filter((k) => patch[k] !== undefined && k in types)
  if (cols.length === 0) return
  const params: unknown[] = cols.map((k) => pgValue(patch[k]))
  params.push(id)
  const set = cols.map((k, i) => `"${k}" = $${i + 1}::${types[k]}`).join(', ')
  await q(`UPDATE "${table}" SET ${set} WHERE "id" = $${params.length}`, params)
}

export function createStore(db: Db, url: string): EngineStore {
  if (providerOf(url) === 'sqlite') return new SqliteStore(sqlitePath(url))
  return new PgStore(db, url)
}
