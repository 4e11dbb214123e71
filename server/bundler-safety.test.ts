/**
 * Next's bundler (Turbopack) reads `import(x)`, `require(x)` and `new Worker(x)` in server code as
 * references to modules it must bundle. With an `x` it cannot follow (a path found at run time) it
 * bundles every file of the project (tests, benches, var/), and `next build` fails after minutes.
 * Worktrees with a linked node_modules build with webpack, which does not fail, so this catches it
 * in seconds instead: such a call must go through a form the bundler does not read (see
 * server/library/compile-pool.ts) or carry a turbopackIgnore comment.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '..')
const SKIP = /(\.test\.ts|\.bench\.ts|testing\.ts|__fixtures__|\/generated\/|\/build\/|node_modules)/

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name)
    if (SKIP.test(p)) continue
    if (statSync(p).isDirectory()) sources(p, out)
    else if (/\.(ts|tsx)$/.test(name)) out.push(p)
  }
  return out
}

/**
 * Calls whose argument is not a string literal, `new URL(literal, ...)` or behind a
 * turbopackIgnore/webpackIgnore comment (import and require only); comment lines and `new Function` bodies (the bundler does
 * not read them) are passed over.
 */
function unfollowableReferences(text: string): string[] {
  const found: string[] = []
  const lines = text.split('\n')
  const re = /(\bimport|\brequire|\bnew Worker)\(/g
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const line = text.slice(0, m.index).split('\n').length
    const src = lines[line - 1]?.trim() ?? ''
    if (/^(\*|\/\/|\/\*)/.test(src) || src.includes('new Function(')) continue
    const arg = text.slice(m.index + m[0].length).trimStart()
    if (/^(['"`]|new URL\(['"`])/.test(arg)) continue
    // an ignore comment works for import() and require(); in new Worker() it was not honoured
    if (m[1] !== 'new Worker' && /^\/\*\s*(turbopack|webpack)Ignore/.test(arg)) continue
    found.push(`${line}: ${src}`)
  }
  return found
}

describe('server code the Next bundler reads', () => {
  it('the check finds a run-time path and passes a literal or an ignored one', () => {
    expect(unfollowableReferences('const w = new Worker(script())')).toHaveLength(1)
    expect(unfollowableReferences('await import(url)')).toHaveLength(1)
    expect(unfollowableReferences("await import('node:os')")).toEqual([])
    expect(unfollowableReferences('await import(\n  /*turbopackIgnore: true*/ url)')).toEqual([])
    expect(unfollowableReferences("new Worker(new URL('./w.ts', import.meta.url))")).toEqual([])
    expect(unfollowableReferences('new Worker(/*turbopackIgnore: true*/ script())')).toHaveLength(1)
  })

  it('has no import(), require() or new Worker() of a path it cannot follow', () => {
    const bad: string[] = []
    for (const dir of ['server', 'app', 'components', 'lib'].map((d) => path.join(ROOT, d))) {
      let files: string[] = []
      try {
        files = sources(dir)
      } catch {
        continue
      }
      for (const f of files)
        for (const hit of unfollowableReferences(readFileSync(f, 'utf8'))) bad.push(`${path.relative(ROOT, f)}:${hit}`)
    }
    expect(bad).toEqual([])
  })
})
