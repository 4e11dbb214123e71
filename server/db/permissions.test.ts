/**
 * The files of a run are not readable by other OS users, whatever the umask: `controlroom run`
 * started with umask 022 leaves the home, the database and every run file owner-only.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = path.join(import.meta.dirname, '../..')
const home = mkdtempSync(path.join(os.tmpdir(), 'cr-perms-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? [p, ...walk(p)] : [p]
  })
}

describe('file permissions', () => {
  it('controlroom run under umask 022 writes nothing group- or world-readable', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CONTROLROOM_HOME: home, NO_COLOR: '1' }
    delete env.DATABASE_URL
    delete env.CONTROLROOM_AUTH
    const r = spawnSync(
      '/bin/sh',
      ['-c', `umask 022 && exec "${process.execPath}" bin/controlroom.js run examples/local-quickstart.yaml`],
      { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 },
    )
    expect(r.status, r.stderr).toBe(0)
    const files = [home, ...walk(home)]
    expect(files.some((f) => f.endsWith('controlroom.db'))).toBe(true)
    expect(files.some((f) => f.endsWith('stdout.log'))).toBe(true)
    const open = files
      .filter((f) => statSync(f).mode & 0o077)
      .map((f) => `${path.relative(home, f)} ${(statSync(f).mode & 0o777).toString(8)}`)
    expect(open).toEqual([])
  }, 330_000)
})
