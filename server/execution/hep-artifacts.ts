/**
 * Run artifacts of hep.* stages, server side: the task processes write files and
 * `<runDir>/hep/<stage>/<dataset>/artifacts.json` manifests (they never touch the database);
 * `syncRunArtifacts` registers them as Artifact rows (idempotent, by path), called when artifacts
 * are listed. Also the per-(stage, dataset) progress of hep stages from the task rows.
 */
import { processSingleton } from '../singleton.ts'
import { type FileHandle, readdir, realpath } from 'node:fs/promises'
import path from 'node:path'
import type { Db } from '../db/client.ts'
import type { ExecutionPlan } from '../workflow/types.ts'
import { isInside } from './paths.ts'
import { openTaskFile, runOwnerUid } from './task-file.ts'
import { readTaskJson } from './user-files.ts'
import { readPartialResult, type PartialResult } from '../hep/partial.ts'
import { cutflowHtml, cutflowTable, renderHistogramSvg, type CutflowTable } from '../hep/render.ts'
import { histogramToUhi } from '../hep/uhi.ts'
import { HEP_EVENT_OPS, hepOutDir, parsePartitionKey, type HepManifest, type HepTaskOutputs } from './ops/hep-shared.ts'

export interface RunArtifact {
  id: string
  runId: string
  taskId: string | null
  name: string
  kind: string
  mime: string
  path: string
  size: number
  meta: Record<string, unknown>
  createdAt: Date
}

async function readManifests(runDir: string): Promise<HepManifest[]> {
  const root = path.join(runDir, 'hep')
  const out: HepManifest[] = []
  let stages: string[] = []
  try {
    stages = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name)
  } catch {
    return out
  }
  for (const s of stages.sort()) {
    let dss: string[] = []
    try {
      dss = (await readdir(path.join(root, s), { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
    } catch {
      continue
    }
    for (const d of dss.sort()) {
      // the task's manifest (users mode: its OS user's), never through a link it put there
      const m = readTaskJson<HepManifest>(path.join(root, s, d), 'artifacts.json')
      if (m && Array.isArray(m.artifacts)) out.push(m) // else: not merged yet
    }
  }
  return out
}

const syncing = processSingleton('execution.artifactSync', () => new Map<string, Promise<void>>())

/** registers the artifacts of finished merges as Artifact rows (once per path) */
export async function syncRunArtifacts(db: Db, runId: string): Promise<void> {
  const prev = syncing.get(runId)
  if (prev) return prev
  const p = (async () => {
    const run = await db.run.findUnique({ where: { id: runId }, select: { runDir: true } })
    if (!run?.runDir) return
    const manifests = await readManifests(run.runDir)
    if (!manifests.length) return
    const existing = await db.artifact.findMany({ where: { runId }, select: { id: true, path: true, size: true } })
    const byPath = new Map(existing.map((a) => [a.path, a]))
    for (const m of manifests) {
      for (const a of m.artifacts) {
        const e = byPath.get(a.path)
        const meta = JSON.stringify({ ...a.meta, stage: m.stage, op: m.op, dataset: m.dataset })
        if (!e)
          await db.artifact.create({
            data: { runId, name: a.name, kind: a.kind, mime: a.mime, path: a.path, size: a.size, meta },
          })
        else if (e.size !== a.size) await db.artifact.update({ where: { id: e.id }, data: { size: a.size, meta } })
      }
    }
  })().finally(() => syncing.delete(runId))
  syncing.set(runId, p)
  return p
}

export async function listRunArtifacts(db: Db, runId: string): Promise<RunArtifact[]> {
  await syncRunArtifacts(db, runId)
  const rows = await db.artifact.findMany({ where: { runId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })
  return rows.map((r) => ({ ...r, meta: safeJson(r.meta) }))
}

function safeJson(s: string): Record<string, unknown> {
  try {
    const v = JSON.parse(s) as unknown
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/**
 * The file of an artifact (inside its run directory), opened, or null. Opened as the task files
 * are (task-file.ts): the run's tasks write there, and in users mode one could swap the file for a
 * link between the check of its path and the open; the open follows no link, and in users mode
 * the file must be the run's OS user's (what that user could read anyway).
 */
export async function artifactFile(
  db: Db,
  runId: string,
  artifactId: string,
): Promise<{ file: string; fh: FileHandle; name: string; mime: string; size: number } | null> {
  const a = await db.artifact.findUnique({
    where: { id: artifactId },
    select: {
      runId: true,
      path: true,
      name: true,
      mime: true,
      size: true,
      run: { select: { runDir: true, options: true } },
    },
  })
  if (!a || a.runId !== runId || !a.run.runDir) return null
  const root = await realpath(a.run.runDir).catch(() => null)
  if (!root) return null
  const file = await realpath(path.resolve(root, a.path)).catch(() => null)
  if (!file || file === root || !isInside(root, file)) return null
  const fh = await openTaskFile(file, runOwnerUid(a.run.options))
  if (!fh) return null
  return { file, fh, name: a.name, mime: a.mime, size: a.size }
}

export interface HepProgressRow {
  stage: string
  op: string
  dataset: string
  total: number
  done: number
  failed: number
  running: number
  events: number
  selected: number
  /** the physics so far: merged from the partitions finished (null: none yet, or hep.define) */
  results: HepLiveResults | null
}

/** what the run page shows of a (stage, dataset) while it runs: no bin contents, those are plots */
export interface HepLiveResults {
  /** partitions merged into these results, of `total` */
  included: number
  total: number
  final: boolean
  events: number
  selected: number
  histograms: { name: string; title: string; entries: number; missing: number }[]
  cutflow: CutflowTable | null
}

/** per hep stage and dataset: partitions done / total, events processed */
export async function hepProgress(db: Db, runId: string): Promise<HepProgressRow[]> {
  const run = await db.run.findUnique({ where: { id: runId }, select: { plan: true } })
  if (!run) return []
  const plan = JSON.parse(run.plan) as ExecutionPlan
  const ops = new Map(plan.stages.filter((s) => HEP_EVENT_OPS.has(s.op)).map((s) => [s.id, s.op]))
  if (!ops.size) return []
  const tasks = await db.task.findMany({
    where: { runId, stageId: { in: [...ops.keys()] } },
    select: { stageId: true, partitionKey: true, state: true, outputs: true },
  })
  const rows = new Map<string, HepProgressRow>()
  for (const t of tasks) {
    const ds = t.partitionKey ? (parsePartitionKey(t.partitionKey)?.dataset ?? t.partitionKey) : '(all)'
    const k = `${t.stageId}\0${ds}`
    let r = rows.get(k)
    if (!r)
      rows.set(
        k,
        (r = {
          stage: t.stageId,
          op: ops.get(t.stageId)!,
          dataset: ds,
          total: 0,
          done: 0,
          failed: 0,
          running: 0,
          events: 0,
          selected: 0,
          results: null,
        }),
      )
    r.total++
    if (t.state === 'succeeded') {
      r.done++
      const o = t.outputs ? (safeJson(t.outputs) as unknown as Partial<HepTaskOutputs>) : null
      r.events += Number(o?.hep?.events ?? 0)
      r.selected += Number(o?.hep?.selected ?? 0)
    } else if (t.state === 'failed' || t.state === 'lost') r.failed++
    else if (t.state === 'running') r.running++
  }
  const runDir = (await db.run.findUnique({ where: { id: runId }, select: { runDir: true } }))?.runDir
  if (runDir)
    for (const r of rows.values()) {
      if (r.op === 'hep.define') continue
      const p = readPartialResult(hepOutDir(runDir, r.stage, r.dataset), r.total)
      if (p) r.results = liveResults(p, r.stage, r.op)
    }
  const order = new Map(plan.stages.map((s, i) => [s.id, i]))
  return [...rows.values()].sort(
    (a, b) => order.get(a.stage)! - order.get(b.stage)! || a.dataset.localeCompare(b.dataset),
  )
}

function liveResults(p: PartialResult, stage: string, op: string): HepLiveResults {
  const cf = op === 'hep.select' ? p.cutflows[stage] : undefined
  return {
    included: p.included,
    total: p.total,
    final: p.final,
    events: p.events,
    selected: p.selected,
    histograms:
      op === 'hep.hist'
        ? p.histograms.map((h) => ({ name: h.name, title: h.title ?? h.name, entries: h.entries, missing: h.missing }))
        : [],
    cutflow: cf ? cutflowTable(cf) : null,
  }
}

export const LIVE_FORMATS = ['svg', 'png', 'uhi', 'json', 'html'] as const
export type LiveFormat = (typeof LIVE_FORMATS)[number]

export interface LiveFileRequest {
  stage: string
  dataset: string
  /** a histogram of a hep.hist stage (svg, png, uhi, json), else the stage's cutflow (json, html) */
  histogram?: string
  format: LiveFormat
}

/**
 * A plot or data file of a hep stage's results so far (or final): the histogram as SVG, PNG, UHI
 * JSON (hist / boost-histogram) or our exact JSON, the cutflow as JSON or HTML. Null when the run,
 * stage, dataset or histogram has no results; an Error with the reason for a request that cannot be.
 */
export async function liveHepFile(
  db: Db,
  runId: string,
  req: LiveFileRequest,
): Promise<{ body: string | Buffer; mime: string; name: string; included: number; total: number } | null> {
  const rows = await hepProgress(db, runId)
  const row = rows.find((r) => r.stage === req.stage && r.dataset === req.dataset)
  if (!row) return null
  const run = await db.run.findUnique({ where: { id: runId }, select: { runDir: true } })
  if (!run?.runDir) return null
  const p = readPartialResult(hepOutDir(run.runDir, row.stage, row.dataset), row.total)
  if (!p) return null
  const suffix = p.final ? '' : `.partial-${p.included}of${p.total}`
  const base = `${req.stage}-${req.dataset}`
  const meta = { stage: req.stage, dataset: req.dataset, partitions_included: p.included, partitions: p.total }
  if (req.histogram !== undefined) {
    const h = p.histograms.find((x) => x.name === req.histogram)
    if (!h) return null
    const stem = `${base}-${h.name}${suffix}`
    const title = `${h.title ?? h.name} — ${req.dataset}${p.final ? '' : ` (${p.included}/${p.total} partitions)`}`
    switch (req.format) {
      case 'svg':
        return { body: renderHistogramSvg(h, { title }), mime: 'image/svg+xml', name: `${stem}.svg`, ...counts(p) }
      case 'png': {
        const { svgToPng } = await import('../hep/png.ts')
        return {
          body: await svgToPng(renderHistogramSvg(h, { title })),
          mime: 'image/png',
          name: `${stem}.png`,
          ...counts(p),
        }
      }
      case 'uhi':
        return {
          body: JSON.stringify(histogramToUhi(h, meta)),
          mime: 'application/json',
          name: `${stem}.uhi.json`,
          ...counts(p),
        }
      case 'json':
        return { body: JSON.stringify({ ...h, ...meta }), mime: 'application/json', name: `${stem}.json`, ...counts(p) }
      default:
        throw new Error(`a histogram is served as svg, png, uhi or json, not ${req.format}`)
    }
  }
  const cf = p.cutflows[req.stage]
  if (!cf) return null
  const stem = `${base}-cutflow${suffix}`
  if (req.format === 'json')
    return { body: JSON.stringify({ ...cf, ...meta }), mime: 'application/json', name: `${stem}.json`, ...counts(p) }
  if (req.format === 'html') return { body: cutflowHtml(cf), mime: 'text/html', name: `${stem}.html`, ...counts(p) }
  throw new Error(`a cutflow is served as json or html, not ${req.format}`)
}

function counts(p: PartialResult): { included: number; total: number } {
  return { included: p.included, total: p.total }
}
