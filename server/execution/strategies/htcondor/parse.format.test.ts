/**
 * FORMAT tests (no HTCondor runs here): condor_submit -terse, condor_submit errors,
 * condor_q / condor_history -json, condor_rm, and the state mapping of queue/history ads.
 * Samples and their sources: __fixtures__/docs/SOURCES.md.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { errorText, exprOf, mapSubmitError, parseClassAdJson, parseRm, parseTerse, terseJobIds } from './parse.ts'
import { holdText, mapExternalState, mapView, viewFromAd } from './status.ts'

const DOCS = path.join(path.dirname(fileURLToPath(import.meta.url)), '__fixtures__/docs')
const read = (f: string) => readFileSync(path.join(DOCS, f), 'utf8')

describe('condor_submit -terse', () => {
  it('reads "<cluster>.<first> - <cluster>.<last>" (condor_submit.cpp "%d.%d - %d.%d\\n")', () => {
    expect(parseTerse('123.0 - 123.4\n')).toEqual([{ clusterId: 123, firstProc: 0, lastProc: 4 }])
    expect(terseJobIds(parseTerse('123.0 - 123.4\n'))).toEqual(['123.0', '123.1', '123.2', '123.3', '123.4'])
    expect(parseTerse('7.0 - 7.0\n8.0 - 8.1\n')).toEqual([
      { clusterId: 7, firstProc: 0, lastProc: 0 },
      { clusterId: 8, firstProc: 0, lastProc: 1 },
    ])
    // the verbose form is not terse output
    expect(parseTerse('Submitting job(s).\n1 job(s) submitted to cluster 6.\n')).toEqual([])
  })
})

describe('condor_submit errors become pool problems', () => {
  const r = (stderr: string, code = 1, stdout = '') => ({ code, stdout, stderr })
  it('schedd unreachable (retryable), with the error stack line', () => {
    const p = mapSubmitError(
      r(
        '\nERROR: Failed to connect to local queue manager\nSECMAN:2011:Connection closed during command authorization.\n',
      ),
      'gpu',
    )
    expect(p).toMatchObject({ code: 'htcondor-schedd-unreachable', pool: 'gpu', retryable: true, severity: 'error' })
    expect(p.message).toContain(
      'Failed to connect to local queue manager; SECMAN:2011:Connection closed during command authorization.',
    )
  })
  it('an expired proxy (submit_utils.cpp push_error "proxy has expired")', () => {
    expect(mapSubmitError(r('\nERROR: proxy has expired\n'), 'default')).toMatchObject({
      code: 'htcondor-proxy-rejected',
      retryable: false,
      hint: expect.stringMatching(/voms-proxy-init/),
    })
  })
  it('a missing executable, a bad submit line, a requirements parse error', () => {
    expect(mapSubmitError(r('\nERROR: Executable file /runs/r1/condor/a.sh does not exist\n'), 'default').code).toBe(
      'htcondor-executable-missing',
    )
    expect(mapSubmitError(r('\nERROR: on Line 12 of submit file: Submit:0:Unknown command\n'), 'default').code).toBe(
      'htcondor-invalid-submit',
    )
    expect(
      mapSubmitError(r('\nERROR: on Line 3 of submit file: Parse error in expression: (OpSys == "LINUX"\n'), 'default')
        .code,
    ).toBe('htcondor-invalid-requirements')
  })
  it('HTCondor not installed, and a timeout', () => {
    expect(mapSubmitError(r('condor_submit: spawn condor_submit ENOENT\n', 127), null, 'local').message).toContain(
      'not found on local',
    )
    expect(mapSubmitError({ code: 124, stdout: '', stderr: '', timedOut: true }, 'x')).toMatchObject({
      code: 'htcondor-submit-timeout',
      retryable: true,
    })
  })
  it('keeps only the ERROR lines when there are some', () => {
    expect(errorText('Submitting job(s)\nWARNING: something\n\nERROR: boom\n')).toBe('boom')
  })
})

describe('condor_q -json / condor_history -json', () => {
  it("reads HTCondor's own unit-test sample (two ads, '[\\n{...}\\n,\\n{...}\\n]\\n')", () => {
    const ads = parseClassAdJson(read('condor_q-two-ads.json'))
    expect(ads).toEqual([
      { MyType: 'Job', ClusterId: 1, ProcId: 2, Owner: 'Bob', JobStatus: 5 },
      { MyType: 'Job', ClusterId: 2, Owner: 'Alice', ProcId: 1, JobStatus: 3 },
    ])
  })
  it('no output at all (nothing matched) is no ads; a truncated array keeps the complete ads', () => {
    expect(parseClassAdJson('')).toEqual([])
    const text = read('condor_q-run.json')
    expect(parseClassAdJson(text.slice(0, text.indexOf('"ProcId": 2')))).toHaveLength(2)
  })
  it('keeps unevaluated expressions as "\\/Expr(...)\\/" and never reads them as strings', () => {
    const [idle] = parseClassAdJson(read('condor_q-run.json'))
    expect(idle!.MemoryUsage).toBe('/Expr(((ResidentSetSize + 1023) / 1024))/')
    expect(exprOf(idle!.MemoryUsage)).toBe('((ResidentSetSize + 1023) / 1024)')
  })

  it('maps queue ads: idle, running, held (distinct, with HoldReason), requeued after eviction, user hold', () => {
    const views = parseClassAdJson(read('condor_q-run.json')).map((a) => viewFromAd(a, 'queue')!)
    const m = views.map((v) => ({ id: v.jobId, ...mapView(v) }))
    expect(m[0]).toMatchObject({
      id: '4300.0',
      worker: 'pending-in-queue',
      task: 'queued',
      reason: 'idle: waiting for a matching slot',
      hopeless: false,
    })
    expect(m[1]).toMatchObject({
      id: '4300.1',
      worker: 'running',
      task: 'running',
      reason: 'running on slot1_2@worker3.example.org',
    })
    expect(views[1]!.startedAt).toEqual(new Date(1795600100 * 1000))
    expect(m[2]).toMatchObject({
      id: '4300.2',
      worker: 'pending-in-queue',
      task: 'queued',
      reason: 'held: The credentials for the job are invalid (HoldReasonCode 4 CorruptedCredential)',
      hopeless: true,
    })
    expect(m[3]).toMatchObject({
      id: '4300.3',
      worker: 'pending-in-queue',
      task: 'running',
      reason: 'requeued after running on slot1_7@worker9.example.org: The startd is shutting down; back in the queue',
    })
    // condor_hold by the user: shown held, never failed automatically
    expect(m[4]).toMatchObject({
      id: '4300.4',
      reason: 'held: via condor_hold (by user alice) (HoldReasonCode 1 UserRequest)',
      hopeless: false,
    })
  })

  it('maps history ads: exit 0, exit 3, signal 9, removed by a user (cancelled) or by a policy (failed)', () => {
    const m = parseClassAdJson(read('condor_history-run.json')).map((a) => mapView(viewFromAd(a, 'history')!))
    expect(m.map((x) => [x.task, x.worker, x.final, x.reason])).toEqual([
      ['succeeded', 'gone', true, null],
      ['failed', 'gone', true, 'exit code 3'],
      ['failed', 'gone', true, 'killed by SIGKILL (signal 9)'],
      ['cancelled', 'gone', true, 'removed: via condor_rm (by user alice)'],
      [
        'failed',
        'gone',
        true,
        expect.stringMatching(/^removed by a policy: The job attribute PeriodicRemove expression/),
      ],
    ])
  })
})

describe('constraints', () => {
  it('one short condor_q/condor_history constraint for a whole run: consecutive clusters become ranges', async () => {
    const { HTCondorClient } = await import('./client.ts')
    const { resolveHTCondorSite } = await import('./site.ts')
    const c = new HTCondorClient(
      { kind: 'local', description: 'x', run: async () => ({ code: 0, stdout: '', stderr: '' }) },
      resolveHTCondorSite({}),
    )
    expect(c.constraint([101])).toBe('ClusterId == 101')
    expect(c.constraint([7, 10, 11, 12, 13, 14, 20, 21, 7])).toBe(
      'ClusterId == 7 || (ClusterId >= 10 && ClusterId <= 14) || ClusterId == 20 || ClusterId == 21',
    )
    expect(c.constraint(Array.from({ length: 10000 }, (_, i) => 5000 + i)).length).toBeLessThan(60)
  })
})

describe('condor_rm', () => {
  it('reads the removal lines of current and older versions, and unknown ids', () => {
    expect(
      parseRm(
        'Job 132.0 marked for removal\nJob 132.1 removed.\nAll jobs in cluster 140 have been marked for removal\n',
        'Job 99.0 not found\n',
      ),
    ).toEqual({
      removed: ['132.0', '132.1', '140'],
      notFound: ['99.0'],
    })
  })
})

describe('Strategy.mapState (external names)', () => {
  it('maps JobStatus numbers and names; a held job keeps its hold text', () => {
    expect(mapExternalState({ state: '1' })).toMatchObject({ worker: 'pending-in-queue', task: 'queued' })
    expect(mapExternalState({ state: 'RUNNING' })).toMatchObject({ worker: 'running', task: 'running' })
    expect(mapExternalState({ state: 'COMPLETED', exitCode: 0 })).toMatchObject({ task: 'succeeded', final: true })
    expect(mapExternalState({ state: '4', exitCode: 2 })).toMatchObject({ task: 'failed', reason: 'exit code 2' })
    expect(mapExternalState({ state: 'REMOVED', reason: 'via condor_rm (by user bob)' })).toMatchObject({
      task: 'cancelled',
    })
    const held = mapExternalState({ state: 'HELD', reason: holdText('Transfer input files failure', 13, 0) })
    expect(held).toMatchObject({
      worker: 'pending-in-queue',
      task: 'queued',
      final: false,
      hopeless: true,
      reason: 'held: Transfer input files failure (HoldReasonCode 13 TransferInputError)',
    })
    expect(mapExternalState({ state: '5', reason: 'via condor_hold (by user a)' }, 'wait').hopeless).toBe(false)
  })
})
