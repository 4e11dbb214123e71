import { describe, expect, it } from 'vitest'
import {
  decodeExitPair,
  decodeWaitStatus,
  expandArrayTaskString,
  mapSlurmState,
  parseSacct,
  parseScontrolJobs,
  parseSqueueFormat,
  parseSqueueJson,
} from './status.ts'

// shapes as printed by Slurm 22.05 (the one running here) ...
const squeue2205 = JSON.stringify({
  meta: { plugin: { type: 'openapi/v0.0.38' } },
  errors: [],
  jobs: [
    {
      job_id: 2,
      name: 'cr-x-default',
      job_state: 'FAILED',
      state_reason: 'NonZeroExitCode',
      exit_code: 768,
      array_job_id: 0,
      array_task_id: null,
      array_task_string: '',
      start_time: 1795605963,
      end_time: 1795605963,
      nodes: 'localhost',
    },
    {
      job_id: 3,
      name: 'cr-x-gpu',
      job_state: 'FAILED',
      state_reason: 'BadConstraints',
      exit_code: 1,
      array_job_id: 0,
      array_task_id: null,
      array_task_string: '',
      start_time: 0,
      end_time: 0,
      nodes: '',
    },
    {
      job_id: 10,
      name: 'cr-x-default',
      job_state: 'RUNNING',
      state_reason: 'None',
      exit_code: 0,
      array_job_id: 9,
      array_task_id: 0,
      array_task_string: '',
      start_time: 1795605984,
      end_time: 1795606084,
      nodes: 'localhost',
    },
    {
      job_id: 9,
      name: 'cr-x-default',
      job_state: 'PENDING',
      state_reason: 'JobArrayTaskLimit',
      exit_code: 0,
      array_job_id: 9,
      array_task_id: null,
      array_task_string: '2-3,5%2',
      start_time: 0,
      end_time: 0,
      nodes: '',
    },
    {
      job_id: 13,
      name: 'cr-x-default',
      job_state: 'CANCELLED',
      state_reason: 'None',
      exit_code: 15,
      array_job_id: 0,
      array_task_id: null,
      array_task_string: '',
    },
  ],
})
// ... and by Slurm 23.02+ (numbers wrapped, states as lists, exit_code an object)
const squeue2311 = JSON.stringify({
  jobs: [
    {
      job_id: 41,
      name: 'cr-y-gpu',
      job_state: ['FAILED'],
      state_reason: 'NonZeroExitCode',
      exit_code: {
        status: ['EXITED'],
        return_code: { set: true, infinite: false, number: 3 },
        signal: { id: { set: false, infinite: false, number: 0 }, name: '' },
      },
      array_job_id: { set: true, infinite: false, number: 0 },
      array_task_id: { set: false, infinite: false, number: 0 },
      array_task_string: '',
      start_time: { set: true, infinite: false, number: 1700000000 },
      end_time: { set: true, infinite: false, number: 1700000005 },
      nodes: 'n1',
    },
    {
      job_id: 42,
      name: 'cr-y-gpu',
      job_state: ['CANCELLED'],
      state_reason: 'None',
      exit_code: {
        status: ['SIGNALED'],
        return_code: { set: true, infinite: false, number: 0 },
        signal: { id: { set: true, infinite: false, number: 9 }, name: 'KILL' },
      },
      array_job_id: { set: true, infinite: false, number: 40 },
      array_task_id: { set: true, infinite: false, number: 7 },
    },
  ],
})

describe('exit codes', () => {
  it('decodes raw wait statuses', () => {
    expect(decodeWaitStatus(768)).toEqual({ exitCode: 3, signal: null })
    expect(decodeWaitStatus(0)).toEqual({ exitCode: 0, signal: null })
    expect(decodeWaitStatus(9)).toEqual({ exitCode: null, signal: 9 })
    expect(decodeWaitStatus(15)).toEqual({ exitCode: null, signal: 15 })
    expect(decodeWaitStatus(255 << 8)).toEqual({ exitCode: 255, signal: null })
    expect(decodeWaitStatus(9 | 0x80)).toEqual({ exitCode: null, signal: 9 }) // core dumped
  })
  it('decodes exit:signal pairs', () => {
    expect(decodeExitPair('3:0')).toEqual({ exitCode: 3, signal: null })
    expect(decodeExitPair('0:9')).toEqual({ exitCode: null, signal: 9 })
    expect(decodeExitPair('0:0')).toEqual({ exitCode: 0, signal: null })
    expect(decodeExitPair('')).toEqual({ exitCode: null, signal: null })
  })
})

describe('squeue --json', () => {
  it('parses Slurm 22.05 output, expanding a pending array record into its elements', () => {
    const { records } = parseSqueueJson(squeue2205)
    const by = (id: string, idx: number | null = null) =>
      records.find((r) =>
        idx === null ? r.jobId === id && r.arrayTaskId === null : r.arrayJobId === id && r.arrayTaskId === idx,
      )
    expect(by('2')).toMatchObject({
      state: 'FAILED',
      exitCode: 3,
      signal: null,
      reason: 'NonZeroExitCode',
      nodes: 'localhost',
    })
    // rejected by the scheduler: Slurm reports wait status 1 (i.e. "signal 1") although nothing ran
    expect(by('3')).toMatchObject({
      state: 'FAILED',
      reason: 'BadConstraints',
      exitCode: null,
      signal: 1,
      startTime: null,
    })
    expect(mapSlurmState(by('3')!).reasonText).toBe(
      'BadConstraints: no node can satisfy the request (cpus, memory, gres or features)',
    )
    expect(by('9', 0)).toMatchObject({ jobId: '10', state: 'RUNNING', reason: null })
    expect([2, 3, 5].map((i) => by('9', i)?.state)).toEqual(['PENDING', 'PENDING', 'PENDING'])
    expect(by('9', 2)!.reason).toBe('JobArrayTaskLimit')
    expect(by('13')).toMatchObject({ state: 'CANCELLED', signal: 15 })
  })
  it('parses Slurm 23.02+ output', () => {
    const { records } = parseSqueueJson(squeue2311)
    expect(records[0]).toMatchObject({
      jobId: '41',
      state: 'FAILED',
      exitCode: 3,
      arrayJobId: null,
      startTime: 1700000000,
    })
    expect(records[1]).toMatchObject({ jobId: '42', arrayJobId: '40', arrayTaskId: 7, signal: 9 })
  })
  it('expands array task strings', () => {
    expect(expandArrayTaskString('0-3')).toEqual([0, 1, 2, 3])
    expect(expandArrayTaskString('2-3,7%1')).toEqual([2, 3, 7])
    expect(expandArrayTaskString('0-10:5')).toEqual([0, 5, 10])
    expect(expandArrayTaskString('')).toEqual([])
  })
})

describe('squeue -O (text)', () => {
  it('parses the fields as Slurm 22.05 prints them, expanding pending array elements', () => {
    const recs = parseSqueueFormat(
      [
        '2|2|2|N/A|cr-test|FAILED|NonZeroExitCode|768|2026-11-25T11:26:03|2026-11-25T11:26:03|localhost|',
        '3|3|3|N/A|wrap|FAILED|BadConstraints|1|2026-11-25T11:26:14|2026-11-25T11:26:14||',
        '242_[1-3%1]|242|242|1-3%1|wrap|PENDING|JobArrayTaskLimit|0|N/A|N/A||',
        '242_0|243|242|0|wrap|RUNNING|None|0|2026-11-25T11:44:09|NONE|localhost|',
        '14|14|14|N/A|wrap|TIMEOUT|TimeLimit|15|2026-11-25T11:26:35|2026-11-25T11:27:38|localhost|',
      ].join('\n'),
    )
    expect(
      recs.map((r) => [r.jobId, r.arrayJobId, r.arrayTaskId, r.state, r.reason, r.exitCode, r.signal, r.nodes]),
    ).toEqual([
      ['2', null, null, 'FAILED', 'NonZeroExitCode', 3, null, 'localhost'],
      ['3', null, null, 'FAILED', 'BadConstraints', null, 1, null],
      ['242', '242', 1, 'PENDING', 'JobArrayTaskLimit', 0, null, null],
      ['242', '242', 2, 'PENDING', 'JobArrayTaskLimit', 0, null, null],
      ['242', '242', 3, 'PENDING', 'JobArrayTaskLimit', 0, null, null],
      ['243', '242', 0, 'RUNNING', null, 0, null, 'localhost'],
      ['14', null, null, 'TIMEOUT', 'TimeLimit', null, 15, 'localhost'],
    ])
    expect(recs[5]!.endTime).toBe(null)
    expect(mapSlurmState(recs[1]!).reasonText).toBe(
      'BadConstraints: no node can satisfy the request (cpus, memory, gres or features)',
    )
  })
})

describe('sacct and scontrol', () => {
  it('parses sacct --parsable2 (jobcomp and accounting), skipping steps', () => {
    const recs = parseSacct(
      [
        'JobID|JobName|State|ExitCode|Start|End|NodeList',
        '12|w|FAILED|5:0|2026-11-25T11:26:03|2026-11-25T11:26:04|localhost',
        '12.batch|batch|FAILED|5:0|||',
        '13|w|CANCELLED by 0|0:15|||',
        '20_3|w|COMPLETED|0:0|||',
        '21_[0-2]|w|PENDING|0:0|Unknown|Unknown|None assigned',
      ].join('\n'),
    )
    expect(recs.map((r) => [r.jobId, r.arrayTaskId, r.state, r.exitCode, r.signal])).toEqual([
      ['12', null, 'FAILED', 5, null],
      ['13', null, 'CANCELLED', null, 15],
      ['20_3', 3, 'COMPLETED', 0, null],
      ['21', 0, 'PENDING', null, null].map((v, i) => (i === 3 ? 0 : v)),
      ['21', 1, 'PENDING', 0, null],
      ['21', 2, 'PENDING', 0, null],
    ])
    expect(recs[0]!.startTime).toBe(Math.floor(Date.parse('2026-11-25T11:26:03') / 1000))
  })
  it('parses scontrol show job -o', () => {
    const recs = parseScontrolJobs(
      'JobId=2 JobName=cr-test UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 NodeList=localhost\n' +
        'JobId=16 ArrayJobId=16 ArrayTaskId=0-2%1 JobName=wrap JobState=PENDING Reason=None ExitCode=0:0 NodeList=(null)\n',
    )
    expect(recs[0]).toMatchObject({
      jobId: '2',
      state: 'FAILED',
      reason: 'NonZeroExitCode',
      exitCode: 3,
      nodes: 'localhost',
    })
    expect(recs.slice(1).map((r) => [r.arrayJobId, r.arrayTaskId, r.state, r.reason])).toEqual([
      ['16', 0, 'PENDING', null],
      ['16', 1, 'PENDING', null],
      ['16', 2, 'PENDING', null],
    ])
  })
})

describe('state mapping', () => {
  const m = (
    state: string,
    reason: string | null = null,
    exitCode: number | null = null,
    signal: number | null = null,
  ) => mapSlurmState({ state, reason, exitCode, signal })
  it('maps every Slurm state onto worker and task states', () => {
    expect(m('PENDING', 'Priority')).toMatchObject({
      worker: 'pending-in-queue',
      task: 'queued',
      final: false,
      hopeless: false,
    })
    expect(m('PENDING', 'Priority').reasonText).toBe('Priority: waiting for jobs with higher priority')
    expect(m('CONFIGURING')).toMatchObject({ worker: 'pending-in-queue', task: 'queued' })
    expect(m('RUNNING')).toMatchObject({ worker: 'running', task: 'running' })
    expect(m('COMPLETING')).toMatchObject({ worker: 'running', task: 'running', final: false })
    expect(m('COMPLETED', null, 0)).toMatchObject({ worker: 'gone', task: 'succeeded', final: true })
    expect(m('FAILED', 'NonZeroExitCode', 3)).toMatchObject({ task: 'failed', reasonText: 'exit code 3' })
    expect(m('FAILED', 'JobLaunchFailure', null, 9).reasonText).toMatch(/killed by SIGKILL; JobLaunchFailure/)
    expect(m('TIMEOUT', 'TimeLimit', null, 15)).toMatchObject({ task: 'failed' })
    expect(m('TIMEOUT').reasonText).toMatch(/time limit/)
    expect(m('OUT_OF_MEMORY')).toMatchObject({ task: 'failed' })
    expect(m('DEADLINE')).toMatchObject({ task: 'failed' })
    expect(m('CANCELLED')).toMatchObject({ task: 'cancelled', worker: 'gone' })
    for (const s of ['NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL'])
      expect(m(s)).toMatchObject({ task: 'lost', worker: 'gone', final: true })
  })
  it('marks pending reasons that waiting cannot fix as hopeless, others not', () => {
    for (const r of [
      'BadConstraints',
      'PartitionConfig',
      'PartitionTimeLimit',
      'DependencyNeverSatisfied',
      'InvalidAccount',
    ])
      expect(m('PENDING', r).hopeless).toBe(true)
    for (const r of [
      'Priority',
      'Resources',
      'Dependency',
      'ReqNodeNotAvail',
      'QOSMaxJobsPerUserLimit',
      'JobArrayTaskLimit',
      null,
    ])
      expect(m('PENDING', r).hopeless).toBe(false)
    expect(m('PENDING', 'QOSMaxJobsPerUserLimit').reasonText).toMatch(/running jobs per user/)
    // a job rejected at scheduling shows why
    expect(m('FAILED', 'BadConstraints', null, 1).reasonText).toMatch(/BadConstraints: no node can satisfy/)
  })
})
