/**
 * What several benches build the same way: a fan-out of n independent tasks from a one-stage
 * plan, the Zmumu muon-pT histogram workflow, and the entry point of a bench run on its own.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestDatabase } from '../../server/db/testing.ts'
import { RunEngine } from '../../server/execution/engine.ts'
import { hepTestDataDir } from '../../server/hep/testdata.ts'
import { saveVersion } from '../../server/library/workflows.ts'
import { compileWorkflow } from '../../server/workflow/index.ts'
import type { ExecutionPlan, PlanStage } from '../../server/workflow/types.ts'

/** n independent copies of the plan's first stage (t0 … t<n-1>), every pool given `workers` workers */
export function fanOutPlan(base: ExecutionPlan, n: number, workers: number): ExecutionPlan {
  const s0 = base.stages[0]!
  const stages: PlanStage[] = Array.from({ length: n }, (_, i) => ({
    ...s0,
    id: `t${i}`,
    needs: [],
    inputs: [],
    index: i,
  }))
  return {
    ...base,
    stages,
    edges: [],
    pools: base.pools.map((p) => ({ ...p, workers, stages: stages.map((s) => s.id) })),
  }
}

/**
 * A run engine on a fresh SQLite database under a fresh CONTROLROOM_HOME, with `yaml` saved and
 * compiled: `start(plan)` runs a plan as a run of that version. `close()` shuts the engine down,
 * removes the home and database and puts CONTROLROOM_HOME back.
 */
export async function openBenchEngine(label: string, yaml: string) {
  const home = mkdtempSync(path.join(os.tmpdir(), `cr-bench-${label}-`))
  const prevHome = process.env.CONTROLROOM_HOME
  process.env.CONTROLROOM_HOME = home
  const t = await createTestDatabase('sqlite')
  const engine = new RunEngine({ db: t.db, url: t.url, log: () => {} })
  const close = async () => {
    await engine.shutdown({ detach: false }).catch(() => {})
    await t.cleanup()
    rmSync(home, { recursive: true, force: true })
    if (prevHome === undefined) delete process.env.CONTROLROOM_HOME
    else process.env.CONTROLROOM_HOME = prevHome
  }
  try {
    const saved = await saveVersion(t.db, { id: null, name: 'bench', mode: 'token', admin: true }, { yaml })
    const compiled = compileWorkflow(yaml, { forRun: true })
    if (!compiled.plan) throw new Error('bench workflow did not compile')
    const start = (plan: ExecutionPlan) =>
      engine.createRun({ workflowId: saved.workflow.id, versionId: saved.version.id, plan, source: 'api' })
    return { home, db: t.db, engine, plan: compiled.plan, start, close }
  } catch (e) {
    await close()
    throw e
  }
}

/**
 * The `data:` and `analysis:` sections of a workflow filling the muon pT histogram (50 bins,
 * 0-200 GeV) from uproot-Zmumu.root: the HEP workload the Dask and Slurm benches share.
 */
export function zmumuMuonPtSections(): string {
  return `data:
  datasets:
    - { name: zmumu, files: [${path.join(hepTestDataDir(), 'uproot-Zmumu.root')}], treeName: events }
analysis:
  stages:
    - id: hist
      op: hep.hist
      params:
        histograms:
          - { name: muon_pt, expr: 'max(pt1, pt2)', bins: { n: 50, low: 0, high: 200 } }
`
}

/**
 * Runs a bench when its file is the one started (`npx tsx bench/x.bench.ts`), not when
 * bench/run.ts imports it: prints its lines and exits 0, or prints the error and exits 1.
 */
export function runIfMain(moduleUrl: string, bench: () => Promise<string[]>): void {
  if (!process.argv[1] || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return
  bench().then(
    (lines) => {
      for (const l of lines) console.log(l)
      process.exit(0)
    },
    (e) => {
      console.error(e)
      process.exit(1)
    },
  )
}
