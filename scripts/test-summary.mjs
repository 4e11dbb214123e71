// Adds up the results of every suite into the closing line `N passed, N failed`.
// A suite that failed without reporting tests (typecheck, build, crash) counts as one failure.
import { readFileSync, existsSync } from 'node:fs'

const failedSuites = process.argv.slice(2)
let passed = 0
let failed = 0

const vitest = 'var/reports/vitest.json'
if (existsSync(vitest)) {
  const r = JSON.parse(readFileSync(vitest, 'utf8'))
  passed += r.numPassedTests ?? 0
  failed += (r.numFailedTests ?? 0) + (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
}
const e2e = 'var/reports/e2e-results.json'
if (existsSync(e2e)) {
  const r = JSON.parse(readFileSync(e2e, 'utf8'))
  passed += r.stats?.expected ?? 0
  failed += (r.stats?.unexpected ?? 0) + (r.stats?.flaky ?? 0) + (r.stats?.skipped ?? 0)
}
for (const suite of failedSuites) {
  if (suite !== 'vitest' && suite !== 'playwright') failed += 1
}
if (failedSuites.length) console.log(`failed suites: ${failedSuites.join(', ')}`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failedSuites.length || failed ? 1 : 0)
