/**
 * Composer bench.
 * 1. In Node: re-plan (compile), graph model, grouping, and the layout engines (the one used, and
 *    dagre and ELK on the whole graph measured against it) for generated workflows of 50, 500 and 2,000 stages.
 * 2. In Chromium through Playwright, against the production build (`next build` first; the build in
 *    NEXT_DIST_DIR, default .next): paste a 2,000-stage workflow → first paint and settled layout; one
 *    keystroke → plan panel updated, longest main-thread task, re-layouts; pan frames per second.
 *    Two 2,000-stage shapes: an analysis with repeated fan-outs (collapsed into groups) and 80 plain
 *    chains (nothing to group: all 2,000 nodes laid out).
 *   npx tsx bench/composer.bench.ts      (or through `npm run bench -- composer`)
 */
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { compileWorkflow } from '../server/workflow/index.ts'
import { dagreLayoutSync, elkLayout, layoutGraphSync, quickLayout, structureKey } from '../components/dag/layout.ts'
import { groupRepeatedFanOuts } from '../components/dag/groups.ts'
import { planToGraph } from '../components/composer/planGraph.ts'
import { generateFanOut } from '../examples/generate-large.ts'
import { measureInChromium, withServer } from './composerBrowser.ts'
import { generateWorkflow } from './composerWorkflows.ts'

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return (s.length % 2 ? s[m] : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2) ?? 0
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0))
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '—')

async function nodeFigures(lines: string[]) {
  for (const [n, runs] of [
    [50, 9],
    [500, 5],
    [2000, 3],
  ] as const) {
    const source = generateWorkflow(n)
    const warm = compileWorkflow(source, { fileName: `gen-${n}.yaml` })
    if (!warm.plan) {
      lines.push(`composer ${n} stages: compile produced no plan (${warm.problems[0]?.message ?? '?'})`)
      continue
    }
    layoutGraphSync(warm.plan)
    const compileMs: number[] = []
    const graphMs: number[] = []
    const layoutMs: number[] = []
    const quickMs: number[] = []
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now()
      const res = compileWorkflow(source, { fileName: `gen-${n}.yaml` })
      const t1 = performance.now()
      const g = planToGraph(res.plan!, res.problems, res.stageRanges)
      groupRepeatedFanOuts(g.nodes, g.edges)
      structureKey(res.plan!)
      const t2 = performance.now()
      layoutGraphSync(res.plan!)
      const t3 = performance.now()
      quickLayout(res.plan!)
      quickMs.push(performance.now() - t3)
      compileMs.push(t1 - t0)
      graphMs.push(t2 - t1)
      layoutMs.push(t3 - t2)
    }
    // the peers, once per size (they are the slow ones): dagre and ELK on the whole graph
    const dagre = dagreLayoutSync(warm.plan)
    const elk = await elkLayout(warm.plan)
    const d = median(layoutMs)
    const engine = layoutGraphSync(warm.plan).engine
    lines.push(
      `composer ${String(n).padStart(4)} stages (Node): re-plan ${fmt(median(compileMs))} ms · graph model + groups ${fmt(median(graphMs))} ms · layout (${engine}) ${fmt(d)} ms vs dagre ${fmt(dagre.ms)} ms (${ratio(dagre.ms, d)}) vs ELK ${fmt(elk.ms)} ms (${ratio(elk.ms, d)}) · quick layout ${fmt(median(quickMs))} ms`,
    )
  }
}

const loadAvg = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')

/** One figure against its target: `1.23 s ≤ 3 s ✓ (0.41×)`. */
function against(value: number, target: number, unit: 'ms' | 'fps'): string {
  if (value < 0) return `not reached ✗`
  if (unit === 'fps')
    return `${value.toFixed(0)} frames/s ≥ ${target} ${value >= target ? '✓' : '✗'} (${ratio(value, target)})`
  const v = value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${fmt(value)} ms`
  const t = target >= 1000 ? `${target / 1000} s` : `${target} ms`
  return `${v} ≤ ${t} ${value <= target ? '✓' : '✗'} (${ratio(value, target)})`
}

export async function benchComposer(): Promise<string[]> {
  const lines: string[] = [
    `composer: load average at start ${loadAvg()} (2 cores; above ~2 the figures are indicative only)`,
  ]
  await nodeFigures(lines)

  const root = fileURLToPath(new URL('..', import.meta.url))
  const fanout = generateFanOut(2000, 48)
  const chains = generateWorkflow(2000)
  const figures = await withServer(root, (base) =>
    measureInChromium(base, [
      { label: 'fan-outs', yaml: fanout, stages: 2000, editAfter: 'nMuon >= 1', typed: '0' },
      { label: 'chains', yaml: chains, stages: 2000, editAfter: 'nMuon >= 1', typed: '0' },
    ]),
  )
  if (!figures) {
    lines.push(
      `composer in Chromium: not measured, there is no production build in ${process.env.NEXT_DIST_DIR || '.next'} (run \`next build\` first)`,
    )
    return lines
  }
  for (const f of figures) {
    const shape = `composer Chromium, 2,000 stages, ${f.label} (${f.visibleNodes} nodes drawn, ${f.groups} groups)`
    lines.push(
      `${shape}: paste → first paint ${fmt(f.firstPaintMs)} ms; → settled ${against(f.settledMs, 3000, 'ms')}; nodes moved after settling: ${f.movedAfterSettle} (target 0)`,
    )
    lines.push(
      `${shape}: one keystroke → plan panel: the first after the paste ${against(f.keystrokePlanMs, 200, 'ms')}, the median of ${f.keystrokes} ${against(f.keystrokePlanMedianMs, 200, 'ms')}; longest main-thread task ${against(f.keystrokeLongestTaskMs, 100, 'ms')}; re-layouts ${f.keystrokeRelayouts} (target 0)`,
    )
    lines.push(
      `${shape}: pan at the opening zoom ${against(f.panFps, 30, 'fps')}; zoomed out ${against(f.panFpsZoomedOut, 30, 'fps')}`,
    )
  }
  lines.push(`composer: load average at end ${loadAvg()}`)
  return lines
}

// Run directly: print the lines.
if (import.meta.url === `file://${process.argv[1]}`) {
  benchComposer().then((lines) => {
    for (const l of lines) console.log(l)
  })
}
