/**
 * Token mode on Dask: a task inherits its worker's environment, and the worker is started by the
 * server, so the server's secrets (the dashboard token, the session secret, a database URL, a
 * cloud key) must be left out of it. A real scheduler, worker and bridge (strategy local); the
 * task writes its whole environment to a file.
 */
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DaskSession } from './session.ts'
import { TaskLog, tempRunDir, testPool } from './testing.ts'

const SECRETS = {
  CONTROLROOM_TOKEN: 'dask-env-dashboard-token',
  CONTROLROOM_SESSION_SECRET: 'dask-env-session-secret',
  DATABASE_URL: 'postgresql://cr:dask-env-db-password@localhost/cr',
  AWS_SECRET_ACCESS_KEY: 'dask-env-cloud-key',
}

describe('dask workers (and so their tasks) get none of the server secrets', () => {
  const runDir = tempRunDir()
  const s = new DaskSession({
    runId: path.basename(runDir),
    runDir,
    pools: [testPool('default', 1)],
    strategy: 'local',
  })
  const saved = Object.fromEntries(Object.keys(SECRETS).map((k) => [k, process.env[k]]))

  afterAll(async () => {
    await s.close()
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    rmSync(runDir, { recursive: true, force: true })
  })

  it('leaves the server secrets out of a task environment, and keeps the rest', async () => {
    Object.assign(process.env, SECRETS, { CR_DASK_ENV_PLAIN: 'kept' })
    const log = new TaskLog(s)
    await s.start()
    const out = path.join(runDir, 'env.txt')
    await s.submit([{ taskId: 'env', attempt: 0, pool: 'default', argv: ['sh', '-c', `env > ${out}`], cwd: runDir }])
    const [e] = await log.waitAll(['env'], ['finished', 'failed', 'lost', 'cancelled'])
    expect(e!.kind).toBe('finished')
    const env = readFileSync(out, 'utf8')
    for (const v of Object.values(SECRETS)) expect(env).not.toContain(v)
    expect(env).toContain('CR_DASK_ENV_PLAIN=kept')
  }, 90_000)
})
