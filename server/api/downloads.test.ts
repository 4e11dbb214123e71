/**
 * The download routes over real HTTP (proxy gate + route handler) and a real task: the full log
 * download serves the same redacted text as the run page (no private key, JWT or bearer token),
 * and domain errors keep their HTTP status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRun } from '../execution/runs.ts'
import { startHarness, type Harness } from './http-harness.ts'
import { setupEngineApi } from './test-helpers.ts'

const TOKEN = 'downloads-test-token-' + 'y'.repeat(24)
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ'
const BEARER = 'abcdefghijklmnopqrstuvwxyz0123456789'
const KEY_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj'

const api = setupEngineApi()

describe('download routes', () => {
  let h: Harness
  beforeAll(async () => {
    process.env.CONTROLROOM_TOKEN = TOKEN
    delete process.env.CONTROLROOM_AUTH
    h = await startHarness()
  })
  afterAll(async () => {
    await h?.close()
  })

  const get = (p: string) => fetch(`${h.url}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } })

  it('the log download is the redacted text of the run page', async () => {
    // a long log: the secrets sit after more than one 1 MiB chunk
    const yaml = `name: leaky
analysis:
  stages:
    - id: Leak
      op: shell
      params:
        command: |
          head -c 1500000 /dev/zero | tr '\\\\0' 'x'; echo
          echo '-----BEGIN PRIVATE KEY-----'; echo '${KEY_BODY}'; echo '-----END PRIVATE KEY-----'
          echo 'token=${JWT}'
          echo 'Authorization: Bearer ${BEARER}'
          echo done
`
    const { runId } = await startRun({ versionId: await api.env.save(yaml) })
    expect(await api.env.waitFor(runId)).toBe('succeeded')
    const caller = api.caller
    const { items } = await caller.run.tasks({ runId })
    const taskId = items[0]!.id

    const res = await get(`/runs/${runId}/tasks/${taskId}/log?stream=stdout`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="Leak-.*\.stdout\.log"$/)
    const text = await res.text()
    for (const secret of [KEY_BODY, JWT, BEARER]) expect(text).not.toContain(secret)
    expect(text).toContain('[REDACTED PRIVATE KEY]')
    expect(text).toContain('[REDACTED JWT]')
    expect(text).toMatch(/done\n$/)

    // the page reads the same text chunk by chunk
    let page = ''
    for (let offset = 0; ; ) {
      const chunk = await caller.run.log({ taskId, stream: 'stdout', offset, limit: 1 << 20 })
      page += chunk.text
      if (chunk.eof) break
      offset = chunk.nextOffset
    }
    expect(text).toBe(page)
  }, 60_000)

  it('maps domain errors to HTTP statuses and refuses without credentials', async () => {
    const missing = await get('/runs/nope/tasks/nope/log')
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({
      error: { code: 'NOT_FOUND', message: 'task nope of run nope not found' },
    })
    const bad = await get('/runs/nope/tasks/nope/log?stream=env')
    expect(bad.status).toBe(400)
    expect((await fetch(`${h.url}/runs/nope/tasks/nope/log`)).status).toBe(401)
    expect((await get('/workflows/nope/export')).status).toBe(404)
  })
})
