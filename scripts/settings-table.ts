/**
 * Writes the README's settings table from server/settings.ts (between the settings markers).
 *   npx tsx scripts/settings-table.ts          rewrite README.md
 *   npx tsx scripts/settings-table.ts --check  exit 1 when README.md is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { settingsTable } from '../server/settings.ts'

export const START = '<!-- settings:start (generated from server/settings.ts) -->'
export const END = '<!-- settings:end -->'

export function withTable(readme: string): string {
  const a = readme.indexOf(START)
  const b = readme.indexOf(END)
  if (a < 0 || b < a) throw new Error(`README.md has no settings markers: add ${START} and ${END}`)
  return `${readme.slice(0, a + START.length)}\n${settingsTable()}\n${readme.slice(b)}`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { check: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  })
  if (values.help) {
    console.log(
      'usage: npx tsx scripts/settings-table.ts [--check]\n  rewrites the settings table in README.md from server/settings.ts; --check: exit 1 when it is out of date',
    )
    process.exit(0)
  }
  const file = new URL('../README.md', import.meta.url)
  const readme = readFileSync(file, 'utf8')
  const next = withTable(readme)
  if (values.check) {
    if (next !== readme) {
      console.error('README.md settings table is out of date: run npx tsx scripts/settings-table.ts')
      process.exit(1)
    }
  } else writeFileSync(file, next)
}
