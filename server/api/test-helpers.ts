/** Shared fixtures of the API tests (not a test file). */
import { TRPCError } from '@trpc/server'
import type { Db } from '../db/client.ts'

export const VALID_YAML = `name: demo-analysis
analysis:
  stages:
    - id: select
      op: shell
      params: {command: "echo select"}
    - id: plot
      op: noop
`

export const VALID_YAML_2 = VALID_YAML.replace('echo select', 'echo select events').concat(`    - id: summary
      op: noop
`)

export const INVALID_YAML = `name: broken
analysis:
  stages:
    - id: a
      op: noop
      needs: [nowhere]
`

export async function counts(db: Db) {
  const [workflows, versions, users] = await Promise.all([
    db.workflow.count(),
    db.workflowVersion.count(),
    db.user.count(),
  ])
  return { workflows, versions, users }
}

/** The TRPCError a promise rejects with (fails the test when it resolves). */
export async function trpcError(p: Promise<unknown>): Promise<TRPCError> {
  try {
    await p
  } catch (e) {
    if (e instanceof TRPCError) return e
    throw new Error(`expected a TRPCError, got ${String(e)}`)
  }
  throw new Error('expected the call to fail, it succeeded')
}
