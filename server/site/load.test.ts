import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadSiteConfig, parseSiteConfig, SiteConfigError } from './index.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'cr-site-'))

function errorOf(text: string): SiteConfigError {
  try {
    parseSiteConfig(text, { file: '/etc/cr/site.yaml', home: '/h' })
  } catch (e) {
    if (e instanceof SiteConfigError) return e
    throw e
  }
  throw new Error('expected an error')
}

describe('site config', () => {
  it('defaults when there is no file: runs under $CONTROLROOM_HOME, engine-held dependencies, arrays, preflight', () => {
    const home = tmp()
    const c = loadSiteConfig({ env: { CONTROLROOM_HOME: home } })
    expect(c.source).toBe(null)
    expect(c.paths.runs).toBe(path.join(home, 'runs'))
    expect(c.ssh).toBe(null)
    expect(c.slurm).toMatchObject({
      dependencies: 'engine',
      arrays: true,
      preflight: true,
      jobNamePrefix: 'cr',
      partition: null,
      extra: [],
    })
  })

  it('reads $CONTROLROOM_HOME/site.yaml, resolving relative paths against the file', () => {
    const home = tmp()
    writeFileSync(
      path.join(home, 'site.yaml'),
      'paths:\n  runs: shared/runs\nslurm:\n  partition: debug\n  env: { SLURM_CONF: /x/slurm.conf }\nssh:\n  host: login1\n  port: 2222\n  identityFile: keys/id\n',
    )
    const c = loadSiteConfig({ env: { CONTROLROOM_HOME: home } })
    expect(c.source).toBe(path.join(home, 'site.yaml'))
    expect(c.paths.runs).toBe(path.join(home, 'shared/runs'))
    expect(c.slurm.partition).toBe('debug')
    expect(c.slurm.env).toEqual({ SLURM_CONF: '/x/slurm.conf' })
    expect(c.ssh).toMatchObject({ host: 'login1', port: 2222, identityFile: path.join(home, 'keys/id') })
  })

  it('reads JSON named by $CONTROLROOM_SITE; a missing named file is an error', () => {
    const d = tmp()
    const f = path.join(d, 'cluster.json')
    writeFileSync(f, JSON.stringify({ slurm: { account: 'atlas', walltime: 3600 }, python: '/usr/bin/python3' }))
    const c = loadSiteConfig({ env: { CONTROLROOM_SITE: f, CONTROLROOM_HOME: d } })
    expect(c.slurm.account).toBe('atlas')
    expect(c.slurm.walltime).toBe(3600)
    expect(c.python).toBe('/usr/bin/python3')
    expect(() => loadSiteConfig({ env: { CONTROLROOM_SITE: path.join(d, 'nope.yaml') } })).toThrow(
      /file not found \(named by CONTROLROOM_SITE\)/,
    )
  })

  it('reports unknown keys at their line with a suggestion', () => {
    const e = errorOf('slurm:\n  partition: debug\n  acount: atlas\n')
    expect(e.problems).toEqual([
      { path: 'slurm.acount', message: 'unknown key "acount"; did you mean "account"?', line: 3, col: 3 },
    ])
    expect(e.message).toContain('/etc/cr/site.yaml:3:3: slurm.acount: unknown key "acount"; did you mean "account"?')
  })

  it('reports bad values at their line', () => {
    const e = errorOf(
      'slurm:\n  extra:\n    - --exclusive\n    - exclusive\n  dependencies: sometimes\nssh:\n  port: 99999\n  host: h\n',
    )
    const by = Object.fromEntries(e.problems.map((p) => [p.path, p]))
    expect(by['slurm.extra.1']).toMatchObject({ line: 4, col: 7 })
    expect(by['slurm.extra.1']!.message).toMatch(/must look like --option/)
    expect(by['slurm.dependencies']).toMatchObject({ line: 5, col: 17 })
    expect(by['ssh.port']).toMatchObject({ line: 7, col: 9 })
  })

  it('reports YAML syntax errors with a position, and a missing ssh host', () => {
    const e = errorOf('slurm:\n  partition: [debug\n')
    expect(e.problems[0]!.line).toBeGreaterThan(0)
    const e2 = errorOf('ssh:\n  user: alice\n')
    expect(e2.problems[0]).toMatchObject({ path: 'ssh.host', line: 2 })
  })

  it('the documented example file is valid', () => {
    const text = readFileSync(path.join(here, 'site.example.yaml'), 'utf8')
    const c = parseSiteConfig(text, { file: path.join(here, 'site.example.yaml'), home: '/h' })
    expect(c.ssh?.host).toBe('login.cluster.example.org')
    expect(c.slurm.extra).toEqual(['--requeue'])
    expect(c.environment.setup).toHaveLength(2)
  })
})
