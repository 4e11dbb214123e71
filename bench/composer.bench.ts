/**
 * Composer bench: re-plan (compile) and layout time for generated workflows of 50, 500 and 2,000
 * stages. Layout is the same pure `layoutGraph` the browser runs in its Web Worker, here in Node.
 *   npx tsx bench/composer.bench.ts      (or through `npm run bench`, which calls benchComposer())
 */
import { compileWorkflow } from '../server/workflow/index.ts'
import { layoutGraph, quickLayout, structureKey } from '../components/dag/layout.ts'
import { planToGraph } from '../components/composer/planGraph.ts'

/** A workflow with `n` stages over three pools: chains, fan-ins, fresh roots, prefer/fallback, modifiers. */
export function generateWorkflow(n: number): string {
  const ops = ['hep.select', 'hep.define', 'hep.hist', 'noop']
  const out: string[] = [
    `name: generated-${n}`,
    'execution:',
    '  backend: local',
    '  strategy: local',
    '  pools:',
    '    default:',
    '      workers: 8',
    '      resources: { cpus: 1, memory: 2GB }',
    '    high_memory:',
    '      workers: 2',
    '      resources: { cpus: 4, memory: 64GB }',
    '    gpu:',
    '      workers: 1',
    '      resources: { cpus: 2, gpus: 1, memory: 16GB }',
    'analysis:',
    '  stages:',
  ]
  for (let i = 0; i < n; i++) {
    out.push(`    - id: S${i}`)
    out.push(`      op: ${ops[i % ops.length]}`)
    if (i > 0 && i % 25 === 0) out.push('      needs: []')
    else if (i >= 5 && i % 10 === 0) out.push(`      needs: [S${i - 1}, S${i - 5}]`)
    const exec: string[] = []
    if (i % 7 === 3) exec.push('        require: high_memory')
    else if (i % 13 === 5) exec.push('        prefer: gpu', '        fallback: default')
    if (i % 17 === 2) exec.push('        modifiers: [profile]')
    if (exec.length) out.push('      execution:', ...exec)
  }
  return out.join('\n') + '\n'
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0))

export async function benchComposer(): Promise<string[]> {
  const lines: string[] = []
  for (const [n, runs] of [
    [50, 9],
    [500, 7],
    [2000, 3],
  ] as const) {
    const source = generateWorkflow(n)
    // warm-up (JIT) run, not counted
    const warm = compileWorkflow(source, { fileName: `gen-${n}.yaml` })
    if (!warm.plan) {
      lines.push(`composer ${n} stages: compile produced no plan (${warm.problems[0]?.message ?? '?'})`)
      continue
    }
    await layoutGraph(warm.plan)
    const compileMs: number[] = []
    const graphMs: number[] = []
    const layoutMs: number[] = []
    const quickMs: number[] = []
    let errors = 0
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now()
      const res = compileWorkflow(source, { fileName: `gen-${n}.yaml` })
      const t1 = performance.now()
      planToGraph(res.plan!, res.problems, res.stageRanges)
      structureKey(res.plan!)
      const t2 = performance.now()
      await layoutGraph(res.plan!)
      const t3 = performance.now()
      quickLayout(res.plan!)
      quickMs.push(performance.now() - t3)
      compileMs.push(t1 - t0)
      graphMs.push(t2 - t1)
      layoutMs.push(t3 - t2)
      errors = res.problems.filter((p) => p.severity === 'error').length
    }
    const c = median(compileMs)
    const g = median(graphMs)
    const l = median(layoutMs)
    const q = median(quickMs)
    lines.push(
      `composer ${String(n).padStart(4)} stages: re-plan (compile) ${fmt(c)} ms · graph model ${fmt(g)} ms · ELK layout ${fmt(l)} ms (worker) · re-plan+layout ${fmt(c + g + l)} ms · first-paint quick layout ${fmt(q)} ms (median of ${runs}${errors ? `, ${errors} compile errors` : ''})`,
    )
  }
  return lines
}

// Run directly: print the lines.
if (import.meta.url === `file://${process.argv[1]}`) {
  benchComposer().then((lines) => {
    for (const l of lines) console.log(l)
  })
}
