/**
 * hep.* stages through the real engine (task processes, SQLite) on the real ROOT test files of
 * server/hep/__fixtures__/root/: partitioned == unpartitioned, entries against the files'
 * known counts, compression variants, generated input + modifiers, artifacts registered.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { forgetPartialResults } from '../hep/partial.ts'
import { setDb } from '../db/client.ts'
import { startHarness, type Harness } from '../api/http-harness.ts'
import { setEngine } from './engine.ts'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hist1D } from '../hep/hist.ts'
import type { Cutflow } from '../hep/cutflow.ts'
import { hepProgress, listRunArtifacts } from './hep-artifacts.ts'
import { listTasks, startRun } from './runs.ts'
import { setupEngineTest, type EngineTestEnv } from './testing.ts'
import { must } from '../must.ts'
import { hepTestDataDir } from '../hep/testdata.ts'
import type { ExecutionPlan } from '../workflow/types.ts'
import { resolveOpDefinition } from './ops.ts'
import type { HepOpResolution } from './ops/hep.ts'
import type { HepTaskContext, HepTaskOutcome, HepTaskSpec } from './runtime/hep-task.ts'

const DATA = hepTestDataDir()

let env: EngineTestEnv
beforeAll(async () => {
  env = await setupEngineTest({})
})
afterAll(async () => {
  await env?.cleanup()
})

/** row `i` of a cutflow (0: all events; -1: what passed every cut) */
function cutflowRow(cutflow: Cutflow, i: number) {
  return must(cutflow.rows.at(i), `row ${i} of the cutflow`)
}

function zmumuYaml(file: string, chunk: number | null, name: string): string {
  return `version: 1
name: ${name}
execution:
  config:
    workers: 4
${chunk ? `    chunk_size: ${chunk}\n` : ''}data:
  datasets:
    - name: zmumu
      files: [${file}]
      treeName: events
analysis:
  stages:
    - id: define
      op: hep.define
      params:
        variables:
          mass: sqrt((E1 + E2) ** 2 - (px1 + px2) ** 2 - (py1 + py2) ** 2 - (pz1 + pz2) ** 2)
    - id: select
      op: hep.select
      params:
        selection:
          all:
            - Q1 * Q2 < 0
            - min(pt1, pt2) > 10
    - id: hist
      op: hep.hist
      params:
        histograms:
          - { name: dimuon_mass, expr: mass, bins: { n: 60, low: 60, high: 120 } }
          - { name: muon_pt, expr: 'max(pt1, pt2)', bins: { n: 50, low: 0, high: 200 } }
          - { name: M, variable: M, bins: { n: 60, low: 60, high: 120 }, weight: abs(eta1) + 0.1 }
`
}

async function runYaml(yaml: string) {
  const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
  const state = await env.waitFor(runId, 120_000)
  const { items } = await listTasks(env.t.db, { runId, limit: 1000 })
  if (state !== 'succeeded') {
    const failed = items.filter((t) => t.state !== 'succeeded')
    const runDir = (await env.t.db.run.findUnique({ where: { id: runId } }))!.runDir!
    const logs = failed.map((t) => {
      try {
        return readFileSync(path.join(runDir, 'tasks', t.id, 'stderr.log'), 'utf8')
      } catch {
        return ''
      }
    })
    throw new Error(
      `run ${state}: ${failed.map((t) => `${t.stageId} ${t.partitionKey} ${t.state} ${t.reason}`).join('; ')}\n${logs.join('\n')}`,
    )
  }
  const runDir = (await env.t.db.run.findUnique({ where: { id: runId } }))!.runDir!
  const artifacts = await listRunArtifacts(env.t.db, runId)
  const read = <T>(name: string, dataset = 'zmumu'): T => {
    const a = artifacts.find((x) => x.name === name && (x.meta as { dataset?: string }).dataset === dataset)
    if (!a) throw new Error(`no artifact ${name} of ${dataset} in ${artifacts.map((x) => x.name).join(', ')}`)
    return JSON.parse(readFileSync(path.join(runDir, a.path), 'utf8')) as T
  }
  return { runId, runDir, items, artifacts, read }
}

describe('hep runs on uproot-Zmumu.root', () => {
  it('4 partitions give histograms identical to 1 partition; 2304 events', async () => {
    const file = path.join(DATA, 'uproot-Zmumu.root')
    const one = await runYaml(zmumuYaml(file, null, 'zmumu-1'))
    const four = await runYaml(zmumuYaml(file, 576, 'zmumu-4'))
    expect(one.items.filter((t) => t.stageId === 'hist')).toHaveLength(1)
    const hist4 = four.items.filter((t) => t.stageId === 'hist')
    expect(hist4).toHaveLength(4)
    expect(hist4.map((t) => t.partitionKey).sort()).toEqual(['zmumu#0', 'zmumu#1', 'zmumu#2', 'zmumu#3'])
    expect(hist4.reduce((n, t) => n + ((t.outputs as { hep: { events: number } }).hep.events ?? 0), 0)).toBe(2304)

    for (const name of ['dimuon_mass.json', 'muon_pt.json', 'M.json']) {
      const a = one.read<Hist1D>(name)
      const b = four.read<Hist1D>(name)
      expect(b).toEqual(a)
    }
    const cf1 = one.read<Cutflow>('cutflow-select.json')
    const cf4 = four.read<Cutflow>('cutflow-select.json')
    expect(cf4).toEqual(cf1)
    expect(cutflowRow(cf1, 0).passed).toBe(2304)
    const selected = cutflowRow(cf1, -1).passed
    // every selected event fills M and muon_pt once (under/overflow included)
    expect(one.read<Hist1D>('M.json').entries + one.read<Hist1D>('M.json').missing).toBe(selected)
    expect(four.read<Hist1D>('muon_pt.json').entries).toBe(selected)
    // plots rendered
    const svg = four.artifacts.find((a) => a.name === 'dimuon_mass.svg')!
    expect(readFileSync(path.join(four.runDir, svg.path), 'utf8')).toMatch(/^<svg/)

    const progress = await hepProgress(env.t.db, four.runId)
    expect(progress.find((p) => p.stage === 'hist' && p.dataset === 'zmumu')).toMatchObject({
      total: 4,
      done: 4,
      events: 2304,
      results: { included: 4, total: 4, final: true, events: 2304 },
    })

    // the same partitions as module tasks (what a warm executor does): with hep_runtime: module the
    // resolution is TaskSpec.module = {path, export}; import the built runtime once and call its
    // export per partition with the task's spec; same histograms, to the byte
    const moduleRun = mkdtempSync(path.join(tmpdir(), 'hep-module-'))
    try {
      cpSync(path.join(four.runDir, 'plan.json'), path.join(moduleRun, 'plan.json'))
      mkdirSync(path.join(moduleRun, 'hep'))
      cpSync(path.join(four.runDir, 'hep', 'partitions.json'), path.join(moduleRun, 'hep', 'partitions.json'))
      const plan = JSON.parse(readFileSync(path.join(moduleRun, 'plan.json'), 'utf8')) as ExecutionPlan
      const stage = plan.stages.find((s) => s.id === 'hist')!
      const def = resolveOpDefinition(plan, 'hep.hist')!
      const ctxOf = (p: ExecutionPlan, t: (typeof hist4)[number]) => ({
        plan: p,
        stage,
        runId: 'module-run',
        taskId: t.id,
        runDir: moduleRun,
        taskDir: path.join(moduleRun, 'tasks', t.id),
        attempt: 0,
        partition: { key: t.partitionKey!, index: 0 },
      })
      // the default: module tasks everywhere (warm executors; a Slurm job's runtime runs the module
      // in its own process, a packed job imports it once; a Dask worker's helper runs it)
      expect((def.resolve(ctxOf(plan, hist4[0]!)) as HepOpResolution).module).toBeDefined()
      const onSlurm = { ...plan, strategy: 'slurm' } as ExecutionPlan
      expect((def.resolve(ctxOf(onSlurm, hist4[0]!)) as HepOpResolution).module).toBeDefined()
      const onDask = { ...plan, backend: 'dask' } as ExecutionPlan
      expect((def.resolve(ctxOf(onDask, hist4[0]!)) as HepOpResolution).module).toBeDefined()
      const asProcess = { ...plan, config: { ...plan.config, hep_runtime: 'process' } }
      expect((def.resolve(ctxOf(asProcess, hist4[0]!)) as HepOpResolution).module).toBeUndefined()
      const modulePlan = { ...plan, config: { ...plan.config, hep_runtime: 'module' } }
      expect(def.check?.(stage, { ...plan, config: { hep_runtime: 'warm' } })).toBe(
        "execution.config.hep_runtime is 'warm': use process or module",
      )
      let runTask: ((spec: HepTaskSpec, ctx: HepTaskContext) => Promise<HepTaskOutcome>) | null = null
      const logs: string[] = []
      for (const t of hist4) {
        const r = def.resolve(ctxOf(modulePlan, t)) as HepOpResolution
        expect(r.module).toEqual({ path: r.argv[1], export: 'runTask' })
        expect(r.module!.path).toMatch(/server\/hep\/build\/hep-task\.mjs$/)
        runTask ??= (await import(pathToFileURL(r.module!.path).href))[r.module!.export]
        const out = await runTask!(
          { runDir: moduleRun, stageId: 'hist', metadata: { partition: { key: t.partitionKey! } } },
          { stdout: (s) => logs.push(s), stderr: (s) => logs.push(s) },
        )
        expect(out.outputs).toMatchObject({ hep: { stage: 'hist', dataset: 'zmumu' } })
      }
      expect(logs.join('')).toContain('merged 4 partitions of zmumu: 2304 events')
      for (const name of ['dimuon_mass', 'muon_pt', 'M'])
        expect(readFileSync(path.join(moduleRun, 'hep', 'hist', 'zmumu', `${name}.json`), 'utf8')).toBe(
          readFileSync(path.join(four.runDir, 'hep', 'hist', 'zmumu', `${name}.json`), 'utf8'),
        )
    } finally {
      rmSync(moduleRun, { recursive: true, force: true })
    }
  }, 180_000)

  it('compression variants read to the same histograms (zstd Zmumu, lz4 HZZ)', async () => {
    const plain = await runYaml(zmumuYaml(path.join(DATA, 'uproot-Zmumu.root'), 1000, 'zmumu-plain'))
    const zstd = await runYaml(zmumuYaml(path.join(DATA, 'uproot-Zmumu-zstd.root'), 1000, 'zmumu-zstd'))
    expect(zstd.read<Hist1D>('dimuon_mass.json')).toEqual(plain.read<Hist1D>('dimuon_mass.json'))
    expect(cutflowRow(zstd.read<Cutflow>('cutflow-select.json'), 0).passed).toBe(2304)

    const hzz = (file: string, n: string) => `version: 1
name: ${n}
execution: { config: { workers: 2, chunk_size: 1000 } }
data:
  datasets:
    - { name: hzz, files: [${file}] }
analysis:
  stages:
    - id: muons
      op: hep.define
      params:
        variables:
          Muon_Pt: sqrt(Muon_Px ** 2 + Muon_Py ** 2)
    - id: sel
      op: hep.select
      params: { selection: 'NMuon >= 2' }
    - id: plots
      op: hep.hist
      params:
        histograms:
          - { name: lead_pt, expr: leading(Muon_Pt), bins: { n: 50, low: 0, high: 200 }, weight: EventWeight }
`
    const a = await runYaml(hzz(path.join(DATA, 'uproot-HZZ.root'), 'hzz'))
    const b = await runYaml(hzz(path.join(DATA, 'uproot-HZZ-lz4.root'), 'hzz-lz4'))
    expect(b.read<Hist1D>('lead_pt.json', 'hzz')).toEqual(a.read<Hist1D>('lead_pt.json', 'hzz'))
    expect(cutflowRow(a.read<Cutflow>('cutflow-sel.json', 'hzz'), 0).passed).toBe(2421)
    expect(a.items.filter((t) => t.stageId === 'plots')).toHaveLength(3)
  }, 240_000)
})

describe('hep partitions in warm executors', () => {
  it("32 partitions run as module tasks in the pool's 2 executors: no process per partition, same histograms", async () => {
    const file = path.join(DATA, 'uproot-Zmumu.root')
    const yaml = (runtime: string, name: string) =>
      zmumuYaml(file, 72, name).replace('    workers: 4\n', `    workers: 2\n    hep_runtime: ${runtime}\n`)
    const warm = await runYaml(yaml('module', 'zmumu-32-module'))
    const cold = await runYaml(yaml('process', 'zmumu-32-process'))
    const started = (r: typeof warm) =>
      r.items
        .filter((t) => t.stageId === 'hist')
        .map((t) => {
          const spec = JSON.parse(readFileSync(path.join(r.runDir, 'tasks', t.id, 'spec.json'), 'utf8'))
          const s = JSON.parse(readFileSync(path.join(r.runDir, 'tasks', t.id, 'started.json'), 'utf8'))
          return { module: spec.module as { export: string } | null, pid: s.pid as number, childPid: s.childPid }
        })
    const w = started(warm)
    expect(w).toHaveLength(32)
    // every partition was a call in an executor process (no child process), at most 2 of them
    expect(w.every((x) => x.module?.export === 'runTask' && x.childPid === null)).toBe(true)
    expect(new Set(w.map((x) => x.pid)).size).toBeLessThanOrEqual(2)
    // the process form started one node per partition
    const c = started(cold)
    expect(c.every((x) => x.module === null && typeof x.childPid === 'number')).toBe(true)
    expect(new Set(c.map((x) => x.childPid)).size).toBe(32)
    for (const name of ['dimuon_mass.json', 'muon_pt.json', 'M.json'])
      expect(readFileSync(path.join(warm.runDir, warm.artifacts.find((a) => a.name === name)!.path), 'utf8')).toBe(
        readFileSync(path.join(cold.runDir, cold.artifacts.find((a) => a.name === name)!.path), 'utf8'),
      )
    expect(warm.read<Cutflow>('cutflow-select.json')).toEqual(cold.read<Cutflow>('cutflow-select.json'))
  }, 240_000)
})

describe('hep runs on generated input', () => {
  it('hep.generate -> define/select/hist over deferred partitions, with profile + diagnostics', async () => {
    const yaml = readFileSync(path.join(process.cwd(), 'examples', 'hep-zmumu.yaml'), 'utf8')
    const r = await runYaml(yaml)
    const hist = r.items.filter((t) => t.stageId === 'Histograms')
    expect(hist.length).toBe(4)
    const first = must(hist[0], 'a Histograms task')
    const m = first.metrics as Record<string, unknown>
    expect(m.wallMs).toBeGreaterThan(0)
    expect(m.peakRssBytes).toBeGreaterThan(0)
    expect((m.diagnostics as { host: string }).host).toBeTruthy()
    expect((first.modifiers as { name: string }[]).map((x) => x.name)).toEqual(['profile', 'diagnostics'])
    const mass = r.read<Hist1D>('dimuon_mass.json')
    expect(mass.entries).toBeGreaterThan(1000)
    expect(cutflowRow(r.read<Cutflow>('cutflow-SelectZ.json'), 0).passed).toBe(20000)
  }, 180_000)
})

describe('the live results route over HTTP', () => {
  const TOKEN = `hep-live-test-token-${'z'.repeat(24)}`
  let h: Harness
  beforeAll(async () => {
    setDb(env.t.db, env.t.url)
    setEngine(env.engine)
    process.env.CONTROLROOM_TOKEN = TOKEN
    delete process.env.CONTROLROOM_AUTH
    h = await startHarness()
  })
  afterAll(async () => {
    await h?.close()
    setEngine(undefined)
  })
  const get = (runId: string, q: string) =>
    fetch(`${h.url}/runs/${runId}/artifacts/live?${q}`, { headers: { authorization: `Bearer ${TOKEN}` } })

  it('serves partial then final plots and data, saying how many partitions they include', async () => {
    const r = await runYaml(zmumuYaml(path.join(DATA, 'uproot-Zmumu.root'), 576, 'zmumu-live'))
    const svg = await get(r.runId, 'stage=hist&dataset=zmumu&histogram=dimuon_mass&format=svg')
    expect(svg.status).toBe(200)
    expect(svg.headers.get('x-hep-partitions')).toBe('4/4')
    expect(svg.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8')
    expect(await svg.text()).toMatch(/^<svg[\s\S]*dimuon_mass — zmumu<\/title>/)
    const png = await get(r.runId, 'stage=hist&dataset=zmumu&histogram=dimuon_mass&format=png&download=1')
    expect(png.headers.get('content-disposition')).toBe('attachment; filename="hist-zmumu-dimuon_mass.png"')
    expect(
      Buffer.from(await png.arrayBuffer())
        .subarray(0, 4)
        .toString('hex'),
    ).toBe('89504e47')
    const uhi = await (await get(r.runId, 'stage=hist&dataset=zmumu&histogram=dimuon_mass&format=uhi')).json()
    expect(uhi.storage.values).toEqual(r.read<Hist1D>('dimuon_mass.json').sumw)
    const cutflow = await get(r.runId, 'stage=select&dataset=zmumu&format=html')
    expect(await cutflow.text()).toContain('<table')

    // two partitions' results gone (as if still running): the route serves the partial merge
    rmSync(path.join(r.runDir, 'hep', 'hist', 'zmumu', 'part-1.json'))
    rmSync(path.join(r.runDir, 'hep', 'hist', 'zmumu', 'part-3.json'))
    forgetPartialResults(r.runDir)
    const partial = await get(r.runId, 'stage=hist&dataset=zmumu&histogram=M&format=json&download=1')
    expect(partial.headers.get('x-hep-partitions')).toBe('2/4')
    expect(partial.headers.get('content-disposition')).toContain('hist-zmumu-M.partial-2of4.json')
    const body = (await partial.json()) as Hist1D & { partitions_included: number }
    expect(body.partitions_included).toBe(2)
    expect(body.entries + body.missing).toBeLessThan(
      r.read<Hist1D>('M.json').entries + r.read<Hist1D>('M.json').missing,
    )

    // bad requests say what is wrong
    const bad = await get(r.runId, 'stage=hist&dataset=zmumu&histogram=M&format=root')
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.message).toBe("format 'root' is not one of svg, png, uhi, json, html")
    const none = await get(r.runId, 'stage=hist&dataset=zmumu&histogram=nope')
    expect(none.status).toBe(404)
    expect((await none.json()).error.message).toContain('no results yet for histogram nope of stage hist')
    expect((await get(r.runId, 'dataset=zmumu')).status).toBe(400)
    expect((await fetch(`${h.url}/runs/${r.runId}/artifacts/live?stage=hist&dataset=zmumu`)).status).toBe(401)
  }, 180_000)
})
