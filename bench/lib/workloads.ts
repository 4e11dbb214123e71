/**
 * What several benches build the same way: a fan-out of n independent tasks from a one-stage
 * plan, the Zmumu muon-pT histogram workflow, and the entry point of a bench run on its own.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { hepTestDataDir } from '../../server/hep/testdata.ts'
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
