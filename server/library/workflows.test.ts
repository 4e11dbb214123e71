/** Domain-level checks of the library (both providers). */
import { beforeEach, describe, expect, it } from 'vitest'
import { PROVIDERS, type TestDatabase } from '../db/testing.ts'
import { useTestDatabase } from '../db/testing-vitest.ts'
import {
  compileForRun,
  deleteWorkflow,
  ensureUser,
  exportWorkflow,
  getWorkflow,
  saveVersion,
  type Actor,
} from './workflows.ts'
import { DomainError } from '../errors.ts'

const actor: Actor = { id: null, name: 'tester' }
const OK = `analysis:\n  stages:\n    - id: a\n      op: noop\n`

describe.each(PROVIDERS)('library domain on %s', (provider) => {
  const testDb = useTestDatabase(provider)
  let t: TestDatabase
  beforeEach(() => {
    t = testDb()
  })

  it('creates one user row for concurrent first saves of the same person', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => ensureUser(t.db, 'same-person')))
    expect(new Set(ids).size).toBe(1)
    expect(await t.db.user.count({ where: { name: 'same-person' } })).toBe(1)
  })

  it('keeps text that does not even parse, as an invalid version without a plan', async () => {
    const r = await saveVersion(t.db, actor, { yaml: 'analysis: [\n', name: 'Unparseable' })
    expect(r.version).toMatchObject({ valid: false, planHash: null, backend: null })
    expect(r.version.problems.length).toBeGreaterThan(0)
    expect(r.version.yaml).toBe('analysis: [\n')
    expect(() => compileForRun(r.version)).toThrow(DomainError)
    try {
      compileForRun(r.version)
    } catch (e) {
      expect((e as DomainError).domainCode).toBe('NOT_RUNNABLE')
    }
  })

  it('compiles a valid version for running with the stored plan hash', async () => {
    const r = await saveVersion(t.db, actor, { yaml: OK, name: 'Runnable' })
    expect(compileForRun(r.version).hash).toBe(r.version.planHash)
  })

  it('soft-deleted workflows refuse new versions but still export for their runs', async () => {
    const r = await saveVersion(t.db, actor, { yaml: OK, name: 'With a run' })
    await t.db.run.create({
      data: {
        workflowId: r.workflow.id,
        versionId: r.version.id,
        plan: '{}',
        planHash: r.version.planHash!,
        backend: 'local',
        strategy: 'local',
      },
    })
    expect((await deleteWorkflow(t.db, actor, { id: r.workflow.id })).mode).toBe('soft')
    await expect(
      saveVersion(t.db, actor, { workflowId: r.workflow.id, parentVersionId: r.version.id, yaml: OK + '#x\n' }),
    ).rejects.toThrow(/not found/)
    await expect(getWorkflow(t.db, { id: r.workflow.id })).rejects.toThrow(/not found/)
    expect((await getWorkflow(t.db, { id: r.workflow.id, includeDeleted: true })).workflow.deletedAt).toBeInstanceOf(
      Date,
    )
    expect((await exportWorkflow(t.db, { id: r.workflow.id })).yaml).toBe(OK)
  })
})
