/**
 * The workflow library: workflows and their immutable versions.
 *
 * Every function takes the database client first and validates its input itself (the tRPC layer
 * adds zod on top): bad input throws a DomainError with a clear message and nothing is written.
 * Saving is optimistic: a save names the version it started from (`parentVersionId`); if someone
 * saved since, the save is refused with CONFLICT and nothing is written, so no version is lost.
 */
import { compileWorkflow } from '../workflow/index.ts'
import type { Problem } from '../workflow/index.ts'
import type { Db, DbTx } from '../db/client.ts'
import { DomainError, badInput, notFound } from '../errors.ts'
import { checkName, checkWorkflowText, decodeWorkflowFile, MAX_YAML_BYTES } from './text.ts'
import { formatBytes } from '../format.ts'
import { diffLines, type LineDiff } from './diff.ts'
import { compileBounded } from './compile-pool.ts'
import { type Actor, actorUserId, assertMayChange, ensureUser } from './policy.ts'

// ---------------------------------------------------------------------------------------------
// Who acts

export type { Actor } from './policy.ts'

// ---------------------------------------------------------------------------------------------
// Shapes returned to callers (plain JSON-able objects, dates as Date: superjson carries them)

export interface VersionSummary {
  id: string
  workflowId: string
  number: number
  parentId: string | null
  message: string
  author: string
  createdAt: Date
  valid: boolean
  errorCount: number
  warningCount: number
  planHash: string | null
  backend: string | null
  strategy: string | null
}

export interface VersionFull extends VersionSummary {
  yaml: string
  problems: Problem[]
}

export interface WorkflowSummary {
  id: string
  name: string
  description: string
  owner: string | null
  ownerId: string | null
  archived: boolean
  archivedAt: Date | null
  deletedAt: Date | null
  createdAt: Date
  updatedAt: Date
  versionCount: number
  head: VersionSummary | null
  lastRun: { id: string; state: string; createdAt: Date; finishedAt: Date | null } | null
}

export interface SaveResult {
  workflow: WorkflowSummary
  version: VersionFull
  /** true when a new workflow was created by this save */
  createdWorkflow: boolean
  /** true when the text equals the head's: nothing was written, `version` is the head */
  unchanged: boolean
}

// ---------------------------------------------------------------------------------------------
// Helpers

const versionSummarySelect = {
  id: true,
  workflowId: true,
  number: true,
  parentId: true,
  message: true,
  author: true,
  createdAt: true,
  valid: true,
  errorCount: true,
  warningCount: true,
  planHash: true,
  backend: true,
  strategy: true,
} as const

const workflowInclude = {
  owner: { select: { name: true } },
  headVersion: { select: versionSummarySelect },
  _count: { select: { versions: true } },
  runs: {
    orderBy: { createdAt: 'desc' as const },
    take: 1,
    select: { id: true, state: true, createdAt: true, finishedAt: true },
  },
}

type WorkflowRow = NonNullable<Awaited<ReturnType<typeof loadWorkflowRow>>>

async function loadWorkflowRow(db: Db | DbTx, id: string) {
  return db.workflow.findUnique({ where: { id }, include: workflowInclude })
}

function toSummary(w: WorkflowRow): WorkflowSummary {
  return {
    id: w.id,
    name: w.name,
    description: w.description,
    owner: w.owner?.name ?? null,
    ownerId: w.ownerId,
    archived: !!w.archivedAt,
    archivedAt: w.archivedAt,
    deletedAt: w.deletedAt,
    createdAt: w.createdAt,
    updatedAt: w.updatedAt,
    versionCount: w._count.versions,
    head: w.headVersion ? { ...w.headVersion } : null,
    lastRun: w.runs[0] ? { ...w.runs[0] } : null,
  }
}

function parseProblems(s: string): Problem[] {
  try {
    const v = JSON.parse(s)
    return Array.isArray(v) ? v : []
  } catch {
    return []
  }
}

function toFull(v: VersionSummary & { yaml: string; problems: string }): VersionFull {
  const { yaml, problems, ...rest } = v
  const summary: VersionSummary = {
    id: rest.id,
    workflowId: rest.workflowId,
    number: rest.number,
    parentId: rest.parentId,
    message: rest.message,
    author: rest.author,
    createdAt: rest.createdAt,
    valid: rest.valid,
    errorCount: rest.errorCount,
    warningCount: rest.warningCount,
    planHash: rest.planHash,
    backend: rest.backend,
    strategy: rest.strategy,
  }
  return { ...summary, yaml, problems: parseProblems(problems) }
}

const fullSelect = { ...versionSummarySelect, yaml: true, problems: true } as const

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || !id.trim() || id.length > 100)
    throw badInput(`${what} must be an id (a non-empty string)`)
  return id
}

function checkMessage(m: unknown): string {
  if (m === undefined || m === null) return ''
  if (typeof m !== 'string') throw badInput('message must be a string')
  const s = m.trim()
  if (s.length > 2000) throw badInput(`message is ${s.length} characters; the limit is 2000`)
  if (/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.test(s)) throw badInput('message must not contain control characters')
  return s
}

function checkDescription(d: unknown): string {
  if (d === undefined || d === null) return ''
  if (typeof d !== 'string') throw badInput('description must be a string')
  if (d.length > 5000) throw badInput(`description is ${d.length} characters; the limit is 5000`)
  if (/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.test(d)) throw badInput('description must not contain control characters')
  return d.trim()
}

function fmtTime(d: Date): string {
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d\d\.\d+Z$/, ' UTC')
}

function conflictError(
  head: { id: string; number: number; author: string; createdAt: Date } | null,
  workflowId: string,
): DomainError {
  if (!head)
    return new DomainError('CONFLICT', 'this workflow changed since you opened it; reload or save as a copy', {
      workflowId,
    })
  return new DomainError(
    'CONFLICT',
    `this workflow was saved by ${head.author} at ${fmtTime(head.createdAt)} (version ${head.number}) since you opened it; reload or save as a copy`,
    {
      workflowId,
      headVersionId: head.id,
      headNumber: head.number,
      author: head.author,
      savedAt: head.createdAt.toISOString(),
    },
  )
}

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string })?.code
  return code === 'P2002' || /Unique constraint failed|duplicate key value/i.test(String((e as Error)?.message ?? ''))
}

/** SQLite across connections/processes: a writer may find the database busy; try again shortly. */
function isBusy(e: unknown): boolean {
  const code = (e as { code?: string })?.code
  return code === 'P1008' || /database is locked|SQLITE_BUSY/i.test(String((e as Error)?.message ?? ''))
}

async function retryBusy<T>(fn: () => Promise<T>, attempts = 40): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn()
    } catch (e) {
      if (i + 1 >= attempts || !isBusy(e)) throw e
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40))
    }
  }
}

/**
 * Compiles for storage, off the request thread under a time budget (compile-pool.ts); a compiler
 * crash or an exhausted budget is recorded as an invalid version, never lost.
 */
async function compileForStorage(yaml: string, fileName: string) {
  try {
    const r = await compileBounded(yaml, { fileName })
    const problems = r.problems
    return {
      valid: r.ok,
      planHash: r.plan?.hash ?? null,
      backend: r.plan?.backend ?? null,
      strategy: r.plan?.strategy ?? null,
      problems,
      planName: typeof r.plan?.name === 'string' ? r.plan.name : null,
    }
  } catch (e) {
    const problem: Problem = {
      code: 'compiler-crash',
      severity: 'error',
      message: `the compiler failed on this text: ${(e as Error).message}`,
      range: { start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } },
      path: [],
    }
    return { valid: false, planHash: null, backend: null, strategy: null, problems: [problem], planName: null }
  }
}

/** the columns of a version row that come from compiling its text */
function compiledColumns(c: Awaited<ReturnType<typeof compileForStorage>>) {
  return {
    planHash: c.planHash,
    valid: c.valid,
    problems: JSON.stringify(c.problems),
    errorCount: c.problems.filter((p: Problem) => p.severity === 'error').length,
    warningCount: c.problems.filter((p: Problem) => p.severity === 'warning').length,
    backend: c.backend,
    strategy: c.strategy,
  }
}

function fileNameFor(name: string): string {
  const base = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'workflow'
  return `${base}.yaml`
}

export { ensureUser }

// ---------------------------------------------------------------------------------------------
// Queries

export interface ListInput {
  search?: string
  /** true: only valid heads; false: only invalid heads */
  valid?: boolean
  backend?: string
  /** state of the most recent run; 'none' = never run */
  lastRunState?: string
  includeArchived?: boolean
  /** only archived */
  archivedOnly?: boolean
  limit?: number
}

export async function listWorkflows(
  db: Db,
  input: ListInput = {},
): Promise<{ items: WorkflowSummary[]; total: number }> {
  const search = typeof input.search === 'string' ? input.search.trim().toLowerCase() : ''
  if (search.length > 200) throw badInput('search text is too long (limit 200 characters)')
  const limit = Math.min(Math.max(Number(input.limit ?? 200) || 200, 1), 1000)
  const headFilter: Record<string, unknown> = {}
  if (typeof input.valid === 'boolean') headFilter.valid = input.valid
  if (input.backend) headFilter.backend = input.backend
  const rows = await db.workflow.findMany({
    where: {
      deletedAt: null,
      ...(input.archivedOnly ? { archivedAt: { not: null } } : input.includeArchived ? {} : { archivedAt: null }),
      ...(Object.keys(headFilter).length ? { headVersion: { is: headFilter } } : {}),
    },
    include: workflowInclude,
    orderBy: { updatedAt: 'desc' },
  })
  let items = rows.map(toSummary)
  if (search)
    items = items.filter((w) => w.name.toLowerCase().includes(search) || w.description.toLowerCase().includes(search))
  if (input.lastRunState) {
    items = items.filter((w) => (input.lastRunState === 'none' ? !w.lastRun : w.lastRun?.state === input.lastRunState))
  }
  return { items: items.slice(0, limit), total: items.length }
}

export interface GetInput {
  id: string
  /** a version of this workflow (default: the head) */
  versionId?: string | null
  includeDeleted?: boolean
}

export async function getWorkflow(
  db: Db,
  input: GetInput,
): Promise<{ workflow: WorkflowSummary; version: VersionFull | null; isHead: boolean }> {
  const id = checkId(input.id, 'workflow id')
  const row = await loadWorkflowRow(db, id)
  if (!row || (row.deletedAt && !input.includeDeleted)) throw notFound(`workflow ${id} not found`)
  const vid = input.versionId ?? row.headVersionId
  let version: VersionFull | null = null
  if (vid) {
    const v = await db.workflowVersion.findUnique({ where: { id: vid }, select: fullSelect })
    if (!v || v.workflowId !== id) throw notFound(`version ${vid} of workflow "${row.name}" not found`)
    version = toFull(v)
  }
  return { workflow: toSummary(row), version, isHead: !!version && version.id === row.headVersionId }
}

export async function getVersion(db: Db, versionId: string): Promise<VersionFull> {
  const id = checkId(versionId, 'version id')
  const v = await db.workflowVersion.findUnique({ where: { id }, select: fullSelect })
  if (!v) throw notFound(`version ${id} not found`)
  return toFull(v)
}

export async function history(
  db: Db,
  workflowId: string,
): Promise<{ workflow: WorkflowSummary; versions: (VersionSummary & { isHead: boolean; runCount: number })[] }> {
  const id = checkId(workflowId, 'workflow id')
  const row = await loadWorkflowRow(db, id)
  if (!row || row.deletedAt) throw notFound(`workflow ${id} not found`)
  const versions = await db.workflowVersion.findMany({
    where: { workflowId: id },
    orderBy: { number: 'desc' },
    select: { ...versionSummarySelect, _count: { select: { runs: true } } },
  })
  return {
    workflow: toSummary(row),
    versions: versions.map(({ _count, ...v }) => ({ ...v, isHead: v.id === row.headVersionId, runCount: _count.runs })),
  }
}

export async function diffVersions(
  db: Db,
  input: { fromVersionId: string; toVersionId: string },
): Promise<{ from: VersionFull; to: VersionFull; diff: LineDiff }> {
  const [from, to] = await Promise.all([getVersion(db, input.fromVersionId), getVersion(db, input.toVersionId)])
  return { from, to, diff: diffLines(from.yaml, to.yaml) }
}

// ---------------------------------------------------------------------------------------------
// Saving

export interface SaveInput {
  /** absent/null: create a new workflow */
  workflowId?: string | null
  /** the version the text was edited from; must be the current head (null for a new workflow) */
  parentVersionId?: string | null
  yaml: string
  message?: string
  /** new workflow: its name (default: the YAML's `name:`, else "Untitled workflow") */
  name?: string
  description?: string
}

export async function saveVersion(db: Db, actor: Actor, input: SaveInput): Promise<SaveResult> {
  if (!input || typeof input !== 'object')
    throw badInput('expected an object { workflowId?, parentVersionId?, yaml, message? }')
  const yaml = checkWorkflowText(input.yaml)
  const message = checkMessage(input.message)
  const workflowId = input.workflowId == null ? null : checkId(input.workflowId, 'workflowId')
  const parentVersionId = input.parentVersionId == null ? null : checkId(input.parentVersionId, 'parentVersionId')
  const author = actor.name || 'unknown'

  if (!workflowId) {
    const authorId = await actorUserId(db, actor)
    if (parentVersionId)
      throw badInput(
        'parentVersionId was given without workflowId: give both to save a new version, or neither to create a workflow',
      )
    const description = checkDescription(input.description)
    const pre = await compileForStorage(yaml, 'workflow.yaml')
    const name = checkName(input.name ?? pre.planName ?? 'Untitled workflow')
    const compiled = pre
    const created = await db.$transaction(async (tx) => {
      const wf = await tx.workflow.create({ data: { name, description, ownerId: authorId } })
      const v = await tx.workflowVersion.create({
        data: {
          workflowId: wf.id,
          number: 1,
          parentId: null,
          yaml,
          ...compiledColumns(compiled),
          message: message || 'Created',
          author,
          authorId,
        },
        select: fullSelect,
      })
      await tx.workflow.update({ where: { id: wf.id }, data: { headVersionId: v.id } })
      return v
    })
    const row = await loadWorkflowRow(db, created.workflowId)
    return { workflow: toSummary(row!), version: toFull(created), createdWorkflow: true, unchanged: false }
  }

  // A new version of an existing workflow.
  const current = await db.workflow.findUnique({
    where: { id: workflowId },
    select: {
      id: true,
      name: true,
      ownerId: true,
      deletedAt: true,
      headVersionId: true,
      headVersion: { select: { ...fullSelect } },
    },
  })
  if (!current || current.deletedAt) throw notFound(`workflow ${workflowId} not found (it may have been deleted)`)
  await assertMayChange(
    db,
    actor,
    { ownerId: current.ownerId, label: `workflow "${current.name}"` },
    'save a new version of it (duplicate it to make your own copy)',
  )
  const authorId = await actorUserId(db, actor)
  if (current.headVersionId !== parentVersionId) {
    if (!parentVersionId)
      throw badInput('parentVersionId is required to save a new version: the id of the version you edited')
    throw conflictError(current.headVersion, workflowId)
  }
  if (current.headVersion && current.headVersion.yaml === yaml) {
    const row = await loadWorkflowRow(db, workflowId)
    return { workflow: toSummary(row!), version: toFull(current.headVersion), createdWorkflow: false, unchanged: true }
  }
  const compiled = await compileForStorage(yaml, fileNameFor(current.name))
  try {
    const created = await retryBusy(() =>
      db.$transaction(async (tx) => {
        const wf = await tx.workflow.findUnique({
          where: { id: workflowId },
          select: {
            deletedAt: true,
            headVersionId: true,
            headVersion: { select: { id: true, number: true, author: true, createdAt: true } },
          },
        })
        if (!wf || wf.deletedAt) throw notFound(`workflow ${workflowId} not found (it may have been deleted)`)
        if (wf.headVersionId !== parentVersionId) throw conflictError(wf.headVersion, workflowId)
        const agg = await tx.workflowVersion.aggregate({ where: { workflowId }, _max: { number: true } })
        const v = await tx.workflowVersion.create({
          data: {
            workflowId,
            number: (agg._max.number ?? 0) + 1,
            parentId: parentVersionId,
            yaml,
            ...compiledColumns(compiled),
            message,
            author,
            authorId,
          },
          select: fullSelect,
        })
        // Compare-and-set on the head: only one of two racing saves can move it.
        const moved = await tx.workflow.updateMany({
          where: { id: workflowId, headVersionId: parentVersionId },
          data: { headVersionId: v.id },
        })
        if (moved.count !== 1) throw new DomainError('CONFLICT', 'lost the race')
        return v
      }),
    )
    const row = await loadWorkflowRow(db, workflowId)
    return { workflow: toSummary(row!), version: toFull(created), createdWorkflow: false, unchanged: false }
  } catch (e) {
    if (e instanceof DomainError && e.domainCode !== 'CONFLICT') throw e
    // A racing save (unique version number, the head's compare-and-set, a busy/serialisation
    // failure): if the head moved, it is a conflict; otherwise the error is real.
    const now = await db.workflow
      .findUnique({
        where: { id: workflowId },
        select: {
          headVersionId: true,
          headVersion: { select: { id: true, number: true, author: true, createdAt: true } },
        },
      })
      .catch(() => null)
    if (
      (e instanceof DomainError && e.domainCode === 'CONFLICT') ||
      isUniqueViolation(e) ||
      (now && now.headVersionId !== parentVersionId)
    ) {
      throw conflictError(now?.headVersion ?? null, workflowId)
    }
    throw e
  }
}

/** Throws NOT_RUNNABLE unless the version compiled without errors. */
export function assertRunnable(version: {
  valid: boolean
  number?: number
  errorCount?: number
  problems?: unknown
}): void {
  if (version.valid) return
  const n = version.errorCount ?? 0
  throw new DomainError(
    'NOT_RUNNABLE',
    `version ${version.number ?? ''} is invalid${n ? ` (${n} error${n === 1 ? '' : 's'})` : ''}: only a valid version can be run; fix the problems and save a new version`.replace(
      'version  is',
      'this version is',
    ),
  )
}

/**
 * For the run engine: the version's text compiled for running (unknown ops are errors then).
 * Throws NOT_RUNNABLE with the problems when it does not compile cleanly.
 */
export function compileForRun(
  version: { yaml: string; valid: boolean; number?: number; errorCount?: number },
  overrides?: { backend?: string; strategy?: string },
) {
  assertRunnable(version)
  // an override (--strategy, the run dialog) is checked as if written in the file
  const r = compileWorkflow(version.yaml, { forRun: true, ...(overrides ? { overrides } : {}) })
  if (!r.ok || !r.plan) {
    const errors = r.problems.filter((p: Problem) => p.severity === 'error')
    throw new DomainError(
      'NOT_RUNNABLE',
      `this version cannot run: ${errors.map((p: Problem) => `line ${p.range.start.line}: ${p.message}`).join('; ')}`,
      {
        problems: errors,
      },
    )
  }
  return r.plan
}

// ---------------------------------------------------------------------------------------------
// Workflow-level changes

async function loadForChange(db: Db, id: string) {
  const w = await db.workflow.findUnique({
    where: { id: checkId(id, 'workflow id') },
    select: { id: true, name: true, ownerId: true, deletedAt: true, headVersionId: true },
  })
  if (!w || w.deletedAt) throw notFound(`workflow ${id} not found`)
  return w
}

export async function renameWorkflow(
  db: Db,
  actor: Actor,
  input: { id: string; name: string; description?: string },
): Promise<WorkflowSummary> {
  const name = checkName(input.name)
  const description = input.description === undefined ? undefined : checkDescription(input.description)
  const w = await loadForChange(db, input.id)
  await assertMayChange(db, actor, { ownerId: w.ownerId, label: `workflow "${w.name}"` }, 'rename it')
  await db.workflow.update({
    where: { id: w.id },
    data: { name, ...(description !== undefined ? { description } : {}) },
  })
  return toSummary((await loadWorkflowRow(db, w.id))!)
}

export async function duplicateWorkflow(
  db: Db,
  actor: Actor,
  input: { id: string; versionId?: string | null; name?: string },
): Promise<{ workflow: WorkflowSummary; version: VersionFull }> {
  const src = await getWorkflow(db, { id: input.id, versionId: input.versionId ?? null })
  if (!src.version) throw badInput(`workflow "${src.workflow.name}" has no version to duplicate`)
  const name = checkName(input.name ?? `${src.workflow.name} (copy)`)
  const authorId = await actorUserId(db, actor)
  const v = src.version
  const created = await db.$transaction(async (tx) => {
    const wf = await tx.workflow.create({ data: { name, description: src.workflow.description, ownerId: authorId } })
    const nv = await tx.workflowVersion.create({
      data: {
        workflowId: wf.id,
        number: 1,
        parentId: null,
        yaml: v.yaml,
        planHash: v.planHash,
        valid: v.valid,
        problems: JSON.stringify(v.problems),
        errorCount: v.errorCount,
        warningCount: v.warningCount,
        backend: v.backend,
        strategy: v.strategy,
        message: `Duplicated from "${src.workflow.name}" version ${v.number}`,
        author: actor.name || 'unknown',
        authorId,
      },
      select: fullSelect,
    })
    await tx.workflow.update({ where: { id: wf.id }, data: { headVersionId: nv.id } })
    return nv
  })
  return { workflow: toSummary((await loadWorkflowRow(db, created.workflowId))!), version: toFull(created) }
}

export async function setArchived(
  db: Db,
  actor: Actor,
  input: { id: string; archived: boolean },
): Promise<WorkflowSummary> {
  if (typeof input.archived !== 'boolean') throw badInput('archived must be true or false')
  const w = await loadForChange(db, input.id)
  await assertMayChange(
    db,
    actor,
    { ownerId: w.ownerId, label: `workflow "${w.name}"` },
    input.archived ? 'archive it' : 'unarchive it',
  )
  await db.workflow.update({ where: { id: w.id }, data: { archivedAt: input.archived ? new Date() : null } })
  return toSummary((await loadWorkflowRow(db, w.id))!)
}

/**
 * Deletes a workflow. When runs reference any of its versions it is soft-deleted (hidden from the
 * library; the runs keep their versions); otherwise it and its versions are removed.
 */
export async function deleteWorkflow(
  db: Db,
  actor: Actor,
  input: { id: string },
): Promise<{ id: string; mode: 'soft' | 'hard'; runs: number }> {
  const w = await loadForChange(db, input.id)
  await assertMayChange(db, actor, { ownerId: w.ownerId, label: `workflow "${w.name}"` }, 'delete it')
  return db.$transaction(async (tx) => {
    const runs = await tx.run.count({ where: { workflowId: w.id } })
    if (runs > 0) {
      await tx.workflow.update({ where: { id: w.id }, data: { deletedAt: new Date() } })
      return { id: w.id, mode: 'soft' as const, runs }
    }
    await tx.workflow.update({ where: { id: w.id }, data: { headVersionId: null } })
    await tx.workflowVersion.deleteMany({ where: { workflowId: w.id } })
    await tx.workflow.delete({ where: { id: w.id } })
    return { id: w.id, mode: 'hard' as const, runs: 0 }
  })
}

// ---------------------------------------------------------------------------------------------
// Import / export

export interface ImportInput {
  fileName: string
  /** the file's bytes, base64 (the browser sends this: binary and non-UTF-8 files are detected) */
  contentBase64?: string
  /** or the text itself (scripts) */
  content?: string
  name?: string
  message?: string
}

export async function importWorkflow(db: Db, actor: Actor, input: ImportInput): Promise<SaveResult> {
  if (!input || typeof input !== 'object') throw badInput('expected { fileName, contentBase64 | content }')
  if (typeof input.fileName !== 'string' || !input.fileName.trim())
    throw badInput('fileName must be a non-empty string')
  const fileName = input.fileName.split(/[\\/]/).pop()!.slice(0, 255)
  if (!/\.ya?ml$/i.test(fileName)) throw badInput(`${fileName}: only .yaml or .yml files can be imported`)
  let yaml: string
  if (typeof input.contentBase64 === 'string') {
    // base64 takes 4 characters for 3 bytes (and a little padding)
    if (input.contentBase64.length > Math.ceil((MAX_YAML_BYTES * 4) / 3) + 8) {
      const limit = formatBytes(MAX_YAML_BYTES, { oneDecimal: true })
      throw new DomainError('TOO_LARGE', `file ${fileName} is larger than the ${limit} limit`)
    }
    if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(input.contentBase64)) throw badInput('contentBase64 is not valid base64')
    yaml = decodeWorkflowFile(new Uint8Array(Buffer.from(input.contentBase64, 'base64')), fileName)
  } else if (typeof input.content === 'string') {
    yaml = checkWorkflowText(input.content, `file ${fileName}`)
  } else {
    throw badInput('give the file as contentBase64 (bytes) or content (text)')
  }
  const fromFile = fileName.replace(/\.ya?ml$/i, '')
  let name = input.name
  if (!name) {
    const pre = await compileForStorage(yaml, fileName)
    name = pre.planName ?? fromFile
  }
  return saveVersion(db, actor, { yaml, name, message: input.message ?? `Imported from ${fileName}` })
}

export async function exportWorkflow(
  db: Db,
  input: { id: string; versionId?: string | null },
): Promise<{ fileName: string; yaml: string; version: number }> {
  const { workflow, version } = await getWorkflow(db, {
    id: input.id,
    versionId: input.versionId ?? null,
    includeDeleted: true,
  })
  if (!version) throw badInput(`workflow "${workflow.name}" has no version to export`)
  const base = fileNameFor(workflow.name).replace(/\.yaml$/, '')
  return { fileName: `${base}-v${version.number}.yaml`, yaml: version.yaml, version: version.number }
}
