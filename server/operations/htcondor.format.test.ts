/**
 * The overview's HTCondor view against the FORMAT-FAITHFUL SIMULATOR of HTCondor's command-line
 * tools (server/execution/strategies/htcondor/__fixtures__/fake-condor: condor_status -json in
 * HTCondor's documented format). HTCondor itself cannot run on this machine.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../db/testing.ts'
import { installFakeCondor } from '../execution/strategies/htcondor/__fixtures__/fake-condor/index.ts'
import { testSite } from '../execution/strategies/slurm/testing.ts'
import { saveVersion } from '../library/workflows.ts'
import { readClusterView } from './cluster.ts'

const actor = { id: null, name: 'tester', mode: 'token' as const, admin: true }

describe('readClusterView: HTCondor (simulator)', () => {
  let t: TestDatabase
  let dir: string
  beforeAll(async () => {
    t = await createTestDatabase('sqlite')
    dir = mkdtempSync(path.join(os.tmpdir(), 'cr-ops-condor-'))
  })
  afterAll(async () => {
    await t?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it('HTCondor (simulator): slots by state and the pools they can host; says why when condor_status is missing', async () => {
    const fake = installFakeCondor(dir)
    await saveVersion(t.db, actor, {
      yaml: `version: 1
name: condor-flow
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "true" }
execution:
  strategy: htcondor
  pools:
    default: { workers: 5, resources: { cpus: 4, memory: 16GB } }
`,
    })
    const site = { ...testSite(dir), htcondor: { binDir: fake.binDir, env: fake.env } }
    const view = await readClusterView(t.db, site)
    expect(view.htcondor.status).toBe('ok')
    if (view.htcondor.status !== 'ok') return
    expect(view.htcondor.byState).toEqual({ Unclaimed: 2 })
    expect(view.htcondor.fits.map((f) => f.sentence)).toEqual([
      'default needs 5 × 4 CPUs, 16 GB: 2 slots of the HTCondor pool can give it',
    ])

    const missing = await readClusterView(t.db, { ...site, htcondor: { binDir: path.join(dir, 'nowhere') } })
    expect(missing.htcondor).toMatchObject({
      status: 'unavailable',
      message: 'condor_status is not installed where the batch commands run',
    })
    expect(missing.htcondor.status === 'unavailable' && missing.htcondor.hint).toMatch(/htcondor\.binDir/)
  })
})
