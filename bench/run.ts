/**
 * `npm run bench`: imports every bench/*.bench.ts module (alphabetically) and calls each of its
 * exported functions whose name starts with `bench` in sequence, printing the lines they return.
 *   npm run bench              all benches
 *   npm run bench -- compile   only modules whose file name contains "compile"
 */
import { readdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'

const dir = dirname(fileURLToPath(import.meta.url))
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()

let failed = 0
for (const f of files) {
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as Record<string, unknown>
  const benches = Object.entries(mod).filter(([name, v]) => typeof v === 'function' && /^bench/.test(name))
  for (const [name, fn] of benches) {
    console.log(`\n== ${f} ${name}()`)
    try {
      const lines = await (fn as () => Promise<string[] | undefined>)()
      for (const line of lines ?? []) console.log(line)
    } catch (e) {
      failed++
      console.log(`FAILED: ${(e as Error)?.stack ?? e}`)
    }
  }
}
if (failed) process.exitCode = 1
