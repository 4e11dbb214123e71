/**
 * Integration tests of the workflow router (appRouter.createCaller) on a real SQLite file AND a
 * real PostgreSQL server (TEST_DATABASE_URL_PG; absent -> these tests FAIL with how to start it).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { createCaller } from './root.ts'
import { createInternalContext } from './trpc.ts'
import { createDb, type Db } from '../db/client.ts'
import { PROVIDERS } from '../db/testing.ts'
import { useTestDatabase } from '../db/testing-vitest.ts'
import { assertRunnable, compileForRun } from '../library/workflows.ts'
import { MAX_YAML_BYTES } from '../library/text.ts'
import { counts, INVALID_YAML, trpcError, VALID_YAML, VALID_YAML_2 } from './test-helpers.ts'

describe.each(PROVIDERS)('workflow router on %s', (provider) => {
  const testDb = useTestDatabase(provider)
  let tdb: ReturnType<typeof testDb>
  let db: Db
  let alice: ReturnType<typeof createCaller>
  beforeEach(() => {
    tdb = testDb()
    db = tdb.db
    alice = createCaller(createInternalContext({ db, user: { name: 'alice' } }))
  })

  it('saves a workflow, new versions, history, get and diff', async () => {
    const first = await alice.workflow.saveVersion({ yaml: VALID_YAML, message: 'first' })
    expect(first.createdWorkflow).toBe(true)
    expect(first.workflow.name).toBe('demo-analysis') // from the YAML's name:
    expect(first.workflow.owner).toBe('alice')
    expect(first.version).toMatchObject({
      number: 1,
      parentId: null,
      valid: true,
      author: 'alice',
      message: 'first',
      backend: 'local',
      errorCount: 0,
    })
    expect(first.version.planHash).toMatch(/^[0-9a-f]{64}$/)

    const second = await alice.workflow.saveVersion({
      workflowId: first.workflow.id,
      parentVersionId: first.version.id,
      yaml: VALID_YAML_2,
      message: 'more stages',
    })
    expect(second.version).toMatchObject({ number: 2, parentId: first.version.id, valid: true, message: 'more stages' })
    expect(second.version.planHash).not.toBe(first.version.planHash)
    expect(second.workflow.head?.id).toBe(second.version.id)

    // same text again: nothing written
    const before = await counts(db)
    const same = await alice.workflow.saveVersion({
      workflowId: first.workflow.id,
      parentVersionId: second.version.id,
      yaml: VALID_YAML_2,
    })
    expect(same.unchanged).toBe(true)
    expect(same.version.id).toBe(second.version.id)
    expect(await counts(db)).toEqual(before)

    const h = await alice.workflow.history({ id: first.workflow.id })
    expect(h.versions.map((v) => [v.number, v.isHead, v.message])).toEqual([
      [2, true, 'more stages'],
      [1, false, 'first'],
    ])

    const head = await alice.workflow.get({ id: first.workflow.id })
    expect(head.version?.yaml).toBe(VALID_YAML_2)
    expect(head.isHead).toBe(true)
    const old = await alice.workflow.get({ id: first.workflow.id, versionId: first.version.id })
    expect(old.version?.yaml).toBe(VALID_YAML)
    expect(old.isHead).toBe(false)

    const d = await alice.workflow.diff({ fromVersionId: first.version.id, toVersionId: second.version.id })
    expect(d.from.yaml).toBe(VALID_YAML)
    expect(d.to.yaml).toBe(VALID_YAML_2)
    expect(d.diff).toMatchObject({ identical: false, added: 3, removed: 1 })
    expect(d.diff.hunks[0]).toMatchObject({ oldStart: 6, oldLines: 1, newStart: 6, newLines: 1 })

    const listed = await alice.workflow.list({ search: 'DEMO' })
    expect(listed.items.map((w) => w.id)).toContain(first.workflow.id)
    expect(listed.items.find((w) => w.id === first.workflow.id)).toMatchObject({ versionCount: 2, lastRun: null })
  })

  it('saves an invalid workflow as an invalid version with its problems; only valid versions are runnable', async () => {
    const r = await alice.workflow.saveVersion({ yaml: INVALID_YAML, name: 'Broken one' })
    expect(r.version.valid).toBe(false)
    expect(r.version.errorCount).toBeGreaterThan(0)
    expect(r.version.problems[0]).toMatchObject({ code: 'unknown-need', severity: 'error' })
    expect(r.version.problems[0]!.range.start.line).toBe(6)
    expect(() => assertRunnable(r.version)).toThrow(/only a valid version can be run/)
    const v = await alice.workflow.version({ versionId: r.version.id })
    expect(v.problems).toEqual(r.version.problems)

    const ok = await alice.workflow.saveVersion({ yaml: VALID_YAML, name: 'Valid one' })
    expect(() => assertRunnable(ok.version)).not.toThrow()
    expect(compileForRun(ok.version).hash).toBe(ok.version.planHash)

    const invalid = await alice.workflow.list({ valid: false })
    expect(invalid.items.map((w) => w.name)).toContain('Broken one')
    expect(invalid.items.map((w) => w.name)).not.toContain('Valid one')
    const valid = await alice.workflow.list({ valid: true, backend: 'local' })
    expect(valid.items.map((w) => w.name)).toContain('Valid one')
    expect((await alice.workflow.list({ backend: 'dask' })).items).toEqual([])
  })

  it('two saves from the same parent: one wins, the other gets CONFLICT, no version lost', async () => {
    const base = await alice.workflow.saveVersion({ yaml: VALID_YAML, name: 'Contended' })
    const wid = base.workflow.id
    // another "tab": its own database connection
    const otherDb = createDb(tdb.url)
    const bobOwnConnection = createCaller(createInternalContext({ db: otherDb, user: { name: 'bob' } }))
    const bobSameServer = createCaller(createInternalContext({ db, user: { name: 'bob' } }))
    const bob = bobOwnConnection
    try {
      let parent = base.version.id
      let expectedVersions = 1
      for (let round = 0; round < 4; round++) {
        // rounds 0-1: two tabs on one server (one client); 2-3: two processes (two connections)
        const bob = round < 2 ? bobSameServer : bobOwnConnection
        const results = await Promise.allSettled([
          alice.workflow.saveVersion({
            workflowId: wid,
            parentVersionId: parent,
            yaml: VALID_YAML + `# alice ${round}\n`,
            message: `alice ${round}`,
          }),
          bob.workflow.saveVersion({
            workflowId: wid,
            parentVersionId: parent,
            yaml: VALID_YAML + `# bob ${round}\n`,
            message: `bob ${round}`,
          }),
        ])
        const won = results.filter((r) => r.status === 'fulfilled')
        const lost = results.filter((r) => r.status === 'rejected')
        expect(won).toHaveLength(1)
        expect(lost).toHaveLength(1)
        const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof alice.workflow.saveVersion>>>).value
        const e = (lost[0] as PromiseRejectedResult).reason
        expect(e.code).toBe('CONFLICT')
        expect(e.message).toMatch(
          new RegExp(
            `this workflow was saved by ${winner.version.author} at .* \\(version ${winner.version.number}\\) since you opened it; reload or save as a copy`,
          ),
        )
        expectedVersions++
        expect(winner.version.number).toBe(expectedVersions)
        parent = winner.version.id
      }
      const h = await alice.workflow.history({ id: wid })
      expect(h.versions.map((v) => v.number)).toEqual([5, 4, 3, 2, 1])
      // each version's parent is the one before it: a linear history, nothing overwritten
      for (let i = 0; i < h.versions.length - 1; i++) expect(h.versions[i]!.parentId).toBe(h.versions[i + 1]!.id)

      // a stale save later: CONFLICT with the current head in the details; nothing written
      const before = await counts(db)
      const stale = await trpcError(
        bob.workflow.saveVersion({ workflowId: wid, parentVersionId: base.version.id, yaml: VALID_YAML + '# stale\n' }),
      )
      expect(stale.code).toBe('CONFLICT')
      expect(await counts(db)).toEqual(before)
      // the loser keeps their text and can save it as a copy
      const copy = await bob.workflow.saveVersion({ yaml: VALID_YAML + '# stale\n', name: 'Contended (my copy)' })
      expect(copy.createdWorkflow).toBe(true)
    } finally {
      await otherDb.$disconnect()
    }
  })

  it('refuses bad input with clear errors and writes nothing', async () => {
    const w = await alice.workflow.saveVersion({ yaml: VALID_YAML, name: 'Target' })
    const before = await counts(db)
    const cases: [() => Promise<unknown>, string, RegExp][] = [
      [
        () => alice.workflow.saveVersion({ yaml: '#' + 'x'.repeat(MAX_YAML_BYTES) }),
        'PAYLOAD_TOO_LARGE',
        /is 1\.0 MiB; the limit is 1\.0 MiB/,
      ],
      [
        () =>
          alice.workflow.saveVersion({
            workflowId: w.workflow.id,
            parentVersionId: w.version.id,
            yaml: 'x'.repeat(3 * 1024 * 1024),
          }),
        'PAYLOAD_TOO_LARGE',
        /3\.0 MiB; the limit is 1\.0 MiB/,
      ],
      [
        () => alice.workflow.saveVersion({ yaml: 'name: a\u0000\u0001\u0002' }),
        'BAD_REQUEST',
        /NUL byte at line 1, column 8: it looks like a binary file/,
      ],
      [() => alice.workflow.saveVersion({ yaml: '\u0089PNG\r\n\u001a\n' }), 'BAD_REQUEST', /control character 0x1A/],
      [
        () => alice.workflow.saveVersion({ yaml: 42 as never }),
        'BAD_REQUEST',
        /invalid input: yaml: .*expected string, received number/i,
      ],
      [() => alice.workflow.saveVersion({} as never), 'BAD_REQUEST', /invalid input: yaml: .*expected string/i],
      [() => alice.workflow.saveVersion({ yaml: VALID_YAML, workflowId: 7 } as never), 'BAD_REQUEST', /workflowId/],
      [
        () => alice.workflow.saveVersion({ yaml: VALID_YAML, extra: true } as never),
        'BAD_REQUEST',
        /unrecognized key.*extra/i,
      ],
      [
        () => alice.workflow.saveVersion({ yaml: VALID_YAML, parentVersionId: w.version.id }),
        'BAD_REQUEST',
        /parentVersionId was given without workflowId/,
      ],
      [
        () => alice.workflow.saveVersion({ yaml: VALID_YAML, workflowId: w.workflow.id }),
        'BAD_REQUEST',
        /parentVersionId is required/,
      ],
      [
        () => alice.workflow.saveVersion({ yaml: VALID_YAML, workflowId: 'nope', parentVersionId: 'x' }),
        'NOT_FOUND',
        /workflow nope not found/,
      ],
      [() => alice.workflow.saveVersion({ yaml: VALID_YAML, name: '   ' }), 'BAD_REQUEST', /name must not be empty/],
      [() => alice.workflow.archive({ id: w.workflow.id, archived: 'yes' as never }), 'BAD_REQUEST', /archived/],
      [() => alice.workflow.rename({ id: w.workflow.id, name: '' }), 'BAD_REQUEST', /name must not be empty/],
      [() => alice.workflow.get({ id: 'missing' }), 'NOT_FOUND', /workflow missing not found/],
      [
        () => alice.workflow.get({ id: w.workflow.id, versionId: 'other' }),
        'NOT_FOUND',
        /version other of workflow "Target" not found/,
      ],
    ]
    for (const [call, code, msg] of cases) {
      const e = await trpcError(call())
      expect(e.code, e.message).toBe(code)
      expect(e.message).toMatch(msg)
    }
    expect(await counts(db)).toEqual(before)
  })

  it('renames, duplicates, archives and deletes (soft when runs reference a version)', async () => {
    const w = await alice.workflow.saveVersion({ yaml: VALID_YAML, name: 'Original' })
    const v2 = await alice.workflow.saveVersion({
      workflowId: w.workflow.id,
      parentVersionId: w.version.id,
      yaml: VALID_YAML_2,
    })

    const renamed = await alice.workflow.rename({
      id: w.workflow.id,
      name: '  Renamed   analysis ',
      description: 'Z to mumu',
    })
    expect(renamed).toMatchObject({ name: 'Renamed analysis', description: 'Z to mumu' })

    const dup = await alice.workflow.duplicate({ id: w.workflow.id, versionId: w.version.id })
    expect(dup.workflow.name).toBe('Renamed analysis (copy)')
    expect(dup.version).toMatchObject({ number: 1, yaml: VALID_YAML, valid: true, planHash: w.version.planHash })
    expect(dup.version.message).toMatch(/Duplicated from "Renamed analysis" version 1/)

    await alice.workflow.archive({ id: dup.workflow.id, archived: true })
    expect((await alice.workflow.list()).items.map((x) => x.id)).not.toContain(dup.workflow.id)
    expect((await alice.workflow.list({ includeArchived: true })).items.map((x) => x.id)).toContain(dup.workflow.id)
    expect((await alice.workflow.list({ archivedOnly: true })).items.map((x) => x.id)).toEqual([dup.workflow.id])
    await alice.workflow.archive({ id: dup.workflow.id, archived: false })
    expect((await alice.workflow.list()).items.map((x) => x.id)).toContain(dup.workflow.id)

    // no runs: removed with its versions
    const hard = await alice.workflow.delete({ id: dup.workflow.id })
    expect(hard).toMatchObject({ mode: 'hard', runs: 0 })
    expect(await db.workflowVersion.count({ where: { workflowId: dup.workflow.id } })).toBe(0)
    expect((await trpcError(alice.workflow.get({ id: dup.workflow.id }))).code).toBe('NOT_FOUND')

    // a run references version 2: soft delete, the run keeps its version
    const run = await db.run.create({
      data: {
        workflowId: w.workflow.id,
        versionId: v2.version.id,
        plan: '{}',
        planHash: v2.version.planHash!,
        state: 'succeeded',
        backend: 'local',
        strategy: 'local',
      },
    })
    const listed = (await alice.workflow.list({ lastRunState: 'succeeded' })).items
    expect(listed.map((x) => x.id)).toEqual([w.workflow.id])
    expect(listed[0]!.lastRun).toMatchObject({ id: run.id, state: 'succeeded' })
    expect((await alice.workflow.list({ lastRunState: 'none' })).items.map((x) => x.id)).not.toContain(w.workflow.id)

    const soft = await alice.workflow.delete({ id: w.workflow.id })
    expect(soft).toMatchObject({ mode: 'soft', runs: 1 })
    expect((await trpcError(alice.workflow.get({ id: w.workflow.id }))).code).toBe('NOT_FOUND')
    expect((await alice.workflow.list({ includeArchived: true })).items.map((x) => x.id)).not.toContain(w.workflow.id)
    const kept = await db.run.findUnique({ where: { id: run.id }, include: { version: true } })
    expect(kept?.version.yaml).toBe(VALID_YAML_2)
    expect(await db.workflowVersion.count({ where: { workflowId: w.workflow.id } })).toBe(2)
    // the version is still readable for the run page
    expect((await alice.workflow.version({ versionId: v2.version.id })).yaml).toBe(VALID_YAML_2)
  })

  it('imports .yaml files (size, UTF-8, no NUL) and exports them', async () => {
    const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64')
    const imported = await alice.workflow.import({
      fileName: 'zmumu.yaml',
      contentBase64: b64(VALID_YAML.replace('name: demo-analysis\n', '')),
    })
    expect(imported.createdWorkflow).toBe(true)
    expect(imported.workflow.name).toBe('zmumu')
    expect(imported.version.message).toBe('Imported from zmumu.yaml')
    const named = await alice.workflow.import({ fileName: 'x.yml', content: VALID_YAML })
    expect(named.workflow.name).toBe('demo-analysis')

    const exp = await alice.workflow.export({ id: imported.workflow.id })
    expect(exp).toEqual({
      fileName: 'zmumu-v1.yaml',
      yaml: VALID_YAML.replace('name: demo-analysis\n', ''),
      version: 1,
    })

    const before = await counts(db)
    const bad: [() => Promise<unknown>, string, RegExp][] = [
      [
        () =>
          alice.workflow.import({
            fileName: 'a.yaml',
            contentBase64: b64(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2])),
          }),
        'BAD_REQUEST',
        /NUL bytes: it is a binary file/,
      ],
      [
        () =>
          alice.workflow.import({
            fileName: 'latin1.yaml',
            contentBase64: b64(new Uint8Array([0x6e, 0x3a, 0x20, 0xe9, 0x0a])),
          }),
        'BAD_REQUEST',
        /not UTF-8 text/,
      ],
      [
        () => alice.workflow.import({ fileName: 'big.yaml', contentBase64: b64('#'.repeat(MAX_YAML_BYTES + 1)) }),
        'PAYLOAD_TOO_LARGE',
        /limit is 1\.0 MiB/,
      ],
      [
        () => alice.workflow.import({ fileName: 'big.yaml', content: '#'.repeat(MAX_YAML_BYTES + 1) }),
        'PAYLOAD_TOO_LARGE',
        /limit is 1\.0 MiB/,
      ],
      [
        () => alice.workflow.import({ fileName: 'notes.txt', content: VALID_YAML }),
        'BAD_REQUEST',
        /only \.yaml or \.yml files/,
      ],
      [
        () => alice.workflow.import({ fileName: 'a.yaml' }),
        'BAD_REQUEST',
        /contentBase64 \(bytes\) or content \(text\)/,
      ],
      [
        () => alice.workflow.import({ fileName: 'a.yaml', contentBase64: '%%%not base64' }),
        'BAD_REQUEST',
        /not valid base64/,
      ],
      [() => alice.workflow.import({ fileName: 'a.yaml', content: 12 } as never), 'BAD_REQUEST', /content/],
    ]
    for (const [call, code, msg] of bad) {
      const e = await trpcError(call())
      expect(e.code, e.message).toBe(code)
      expect(e.message).toMatch(msg)
    }
    expect(await counts(db)).toEqual(before)
  })

  it('records owners; in users mode only the owner or an admin may save, rename, archive, delete', async () => {
    const carol = createCaller(createInternalContext({ db, user: { name: 'carol', mode: 'users', admin: false } }))
    const dave = createCaller(createInternalContext({ db, user: { name: 'dave', mode: 'users', admin: false } }))
    const root = createCaller(createInternalContext({ db, user: { name: 'root', mode: 'users', admin: true } }))
    const w = await carol.workflow.saveVersion({ yaml: VALID_YAML, name: "Carol's" })
    expect(w.workflow.owner).toBe('carol')
    const before = await counts(db)
    for (const call of [
      () => dave.workflow.rename({ id: w.workflow.id, name: 'mine' }),
      () => dave.workflow.archive({ id: w.workflow.id, archived: true }),
      () => dave.workflow.delete({ id: w.workflow.id }),
    ]) {
      const e = await trpcError(call())
      expect(e.code).toBe('FORBIDDEN')
      expect(e.message).toMatch(/only the owner of workflow "Carol's" \(or an admin\)/)
    }
    expect(await counts(db)).toEqual(before)
    // others may read, not add versions
    const e = await trpcError(
      dave.workflow.saveVersion({ workflowId: w.workflow.id, parentVersionId: w.version.id, yaml: VALID_YAML_2 }),
    )
    expect(e.code).toBe('FORBIDDEN')
    expect((await dave.workflow.get({ id: w.workflow.id })).workflow.owner).toBe('carol')
    expect(await counts(db)).toEqual(before)
    // the owner may (this was a 403: the actor's id was never filled in)
    await carol.workflow.rename({ id: w.workflow.id, name: "Carol's own" })
    await root.workflow.rename({ id: w.workflow.id, name: 'Renamed by admin' })
  })
})
