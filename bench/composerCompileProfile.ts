/**
 * Times the compiler's passes on the composer's 2,000-stage shapes, in Node (the composer's worker
 * runs the same code in Chromium's V8). A tool for finding the cost, not a bench.
 *   npx tsx bench/composerCompileProfile.ts
 */
import { compileWorkflow } from '../server/workflow/index.ts'
import { generateFanOut } from '../examples/generate-large.ts'
import { generateWorkflow } from './composerWorkflows.ts'

for (const [label, src] of [
  ['fan-outs', generateFanOut(2000, 48)],
  ['chains', generateWorkflow(2000)],
] as const) {
  const times: number[] = []
  let edited = src
  for (let i = 0; i < 12; i++) {
    edited = edited.replace(/nMuon >= 1\d*/, `nMuon >= 1${i}`)
    const t0 = performance.now()
    const r = compileWorkflow(edited, { fileName: 'x.yaml' })
    times.push(performance.now() - t0)
    if (!r.plan) throw new Error(r.problems[0]?.message)
  }
  times.sort((a, b) => a - b)
  console.log(
    `${label}: ${src.length} chars, compile median ${times[6]?.toFixed(1)} ms, min ${times[0]?.toFixed(1)} ms`,
  )
}
