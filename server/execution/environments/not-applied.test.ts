/**
 * A packed worker environment (packed-pixi, conda-pack) is unpacked by batch jobs: wherever the
 * strategy becomes `local` (the file, the run dialog's strategy override, a run parameter
 * `execution.strategy = local`), the run is refused before anything runs, instead of running the
 * tasks with this host's software and no archive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchRun } from '../../operations/launch.ts'
import { startRun } from '../runs.ts'
import { setupEngineTest, type EngineTestEnv } from '../testing.ts'

const packed = (type: string) => `
analysis:
  stages:
    - id: T
      op: shell
      params: { command: "echo ran with this host's software" }
execution:
  strategy: slurm
  environment:
    type: ${type}
    archive_path: /nonexistent/environment.tar
`

describe('packed environments where the strategy becomes local', () => {
  let env: EngineTestEnv
  beforeAll(async () => {
    env = await setupEngineTest()
  })
  afterAll(async () => env?.cleanup())

  for (const type of ['packed-pixi', 'conda-pack']) {
    it(`${type}: the strategy override of the run dialog is refused, naming the environment`, async () => {
      const versionId = await env.save(packed(type))
      const before = await env.t.db.run.count()
      await expect(startRun({ versionId, overrides: { strategy: 'local' } }, env.engine)).rejects.toThrow(
        new RegExp(`${type} environment is unpacked by batch jobs`),
      )
      expect(await env.t.db.run.count()).toBe(before)
    })

    it(`${type}: a run parameter execution.strategy = local is refused the same way`, async () => {
      const versionId = await env.save(packed(type))
      const before = await env.t.db.run.count()
      const err = await launchRun(
        { versionId, parameters: [{ key: 'execution.strategy', value: 'local' }] },
        env.engine,
      ).then(
        () => null,
        (e: unknown) => e as Error & { details?: { problems?: { code: string }[] } },
      )
      expect(err?.message).toMatch(new RegExp(`${type} environment is unpacked by batch jobs`))
      expect(err?.details?.problems?.map((p) => p.code)).toEqual(['environment-not-applied'])
      expect(await env.t.db.run.count()).toBe(before)
    })
  }
})
