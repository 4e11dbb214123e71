/**
 * Compile bench: time to compile examples/large-500.yaml (the editor re-plans on every keystroke;
 * budget 20 ms). Warm-up, then ≥ 200 timed runs; prints median and p95 and the ratio to the budget.
 * Also times the same compile with the plan hash read (the hash is computed lazily, on first read)
 * and the full-YAML fallback path.
 *   npx tsx bench/compile.bench.ts     (or `npm run bench`, which calls benchCompile())
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { must } from '../server/must.ts'
import { compileWorkflow } from '../server/workflow/index.ts'

const BUDGET_MS = 20

function stats(times: number[]) {
  const t = [...times].sort((a, b) => a - b)
  const q = (p: number) => must(t[Math.min(t.length - 1, Math.floor(p * t.length))], `the ${p} quantile of the times`)
  return { median: q(0.5), p95: q(0.95), min: q(0) }
}

/** Wall times of each run, plus this process's CPU time per run (less sensitive to a busy machine). */
function time(fn: () => void, warmup: number, runs: number): { wall: number[]; cpuMs: number } {
  for (let i = 0; i < warmup; i++) fn()
  const wall: number[] = []
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < runs; i++) {
    const a = performance.now()
    fn()
    wall.push(performance.now() - a)
  }
  const cpu = process.cpuUsage(cpu0)
  return { wall, cpuMs: (cpu.user + cpu.system) / 1000 / runs }
}

export async function benchCompile(): Promise<string[]> {
  const file = fileURLToPath(new URL('../examples/large-500.yaml', import.meta.url))
  const source = readFileSync(file, 'utf8')
  const check = compileWorkflow(source)
  if (!check.ok || check.plan?.stages.length !== 500) throw new Error('large-500.yaml does not compile to 500 stages')
  const runs = 300
  const lines: string[] = []
  const row = (label: string, t: { wall: number[]; cpuMs: number }) => {
    const s = stats(t.wall)
    lines.push(
      `${label.padEnd(34)} median ${s.median.toFixed(2).padStart(6)} ms  p95 ${s.p95.toFixed(2).padStart(6)} ms  min ${s.min.toFixed(2).padStart(6)} ms  cpu ${t.cpuMs.toFixed(2).padStart(6)} ms/run  median = ${((s.median / BUDGET_MS) * 100).toFixed(0)}% of the ${BUDGET_MS} ms budget`,
    )
  }
  lines.push(`compile: examples/large-500.yaml (${source.length} chars, 500 stages), ${runs} runs after warm-up`)
  row(
    'compileWorkflow',
    time(() => compileWorkflow(source), 50, runs),
  )
  row(
    'compileWorkflow + plan.hash',
    time(() => void compileWorkflow(source).plan!.hash, 30, runs),
  )
  // a folded block scalar at the end makes the fast YAML path bail out to the full `yaml` parser
  const slow = source + 'notes: >\n  forces the full YAML parser\n'
  row(
    'compileWorkflow (full YAML parser)',
    time(() => compileWorkflow(slow), 20, 100),
  )
  const edited = source.replace('needs: [Setup]', 'needs: [Setpu]')
  row(
    'compileWorkflow (with an error)',
    time(() => compileWorkflow(edited), 20, 200),
  )
  const load = typeof process.getActiveResourcesInfo === 'function' ? loadAverage() : null
  if (load !== null)
    lines.push(
      `(1-minute load average ${load.toFixed(1)}: on a busy machine wall times inflate; the cpu column and min do not)`,
    )
  return lines
}

function loadAverage(): number | null {
  try {
    const text = readFileSync('/proc/loadavg', 'utf8')
    return Number(text.split(' ')[0])
  } catch {
    return null
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const line of await benchCompile()) console.log(line)
}
