/**
 * Every procedure of the app goes through the access check: called without credentials, each one
 * is refused with UNAUTHORIZED before its input is even read, and nothing is written. This test
 * enumerates the router, so a procedure added later without `protectedProcedure` fails it.
 */
import { describe, expect, it } from 'vitest'
import { appRouter, createCaller } from './root.ts'
import { createInternalContext } from './trpc.ts'
import { PROVIDERS } from '../db/testing.ts'
import { useTestDatabase } from '../db/testing-vitest.ts'
import { counts, trpcError, VALID_YAML } from './test-helpers.ts'

/** Inputs that would succeed (and write) if the check were missing. */
function plausibleInputs(ids: { workflowId: string; versionId: string }): Record<string, unknown> {
  return {
    'workflow.saveVersion': { yaml: VALID_YAML, name: 'should not exist' },
    'workflow.rename': { id: ids.workflowId, name: 'hacked' },
    'workflow.duplicate': { id: ids.workflowId },
    'workflow.archive': { id: ids.workflowId, archived: true },
    'workflow.delete': { id: ids.workflowId },
    'workflow.import': { fileName: 'x.yaml', content: VALID_YAML },
    'workflow.get': { id: ids.workflowId },
    'workflow.history': { id: ids.workflowId },
    'workflow.version': { versionId: ids.versionId },
    'workflow.diff': { fromVersionId: ids.versionId, toVersionId: ids.versionId },
    'workflow.export': { id: ids.workflowId },
  }
}

function call(caller: unknown, path: string, input: unknown): Promise<unknown> {
  let f: unknown = caller
  for (const part of path.split('.')) f = (f as Record<string, unknown>)[part]
  return (f as (i: unknown) => Promise<unknown>)(input)
}

describe.each(PROVIDERS)('access check on every procedure (%s)', (provider) => {
  const testDb = useTestDatabase(provider)

  it('refuses unauthenticated callers everywhere, with nothing written', async () => {
    const tdb = testDb()
    const owner = createCaller(createInternalContext({ db: tdb.db, user: { name: 'owner' } }))
    const w = await owner.workflow.saveVersion({ yaml: VALID_YAML, name: 'Protected' })
    const inputs = plausibleInputs({ workflowId: w.workflow.id, versionId: w.version.id })
    const anon = createCaller(createInternalContext({ db: tdb.db, user: null }))
    const procedures = Object.keys(appRouter._def.procedures)
    expect(procedures.length).toBeGreaterThan(10)
    const before = await counts(tdb.db)
    for (const path of procedures) {
      const def = (appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)[path]!._def
      if (def.type === 'subscription') continue // covered over HTTP by their own tests
      const e = await trpcError(call(anon, path, inputs[path] ?? {}))
      expect(e.code, `${path} answered without credentials`).toBe('UNAUTHORIZED')
    }
    expect(await counts(tdb.db)).toEqual(before)
    const still = await owner.workflow.get({ id: w.workflow.id })
    expect(still.workflow).toMatchObject({ name: 'Protected', archived: false })
  })
})
