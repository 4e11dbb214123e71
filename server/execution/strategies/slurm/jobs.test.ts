/**
 * SlurmJobs against the REAL local Slurm (scripts/services/slurm.sh): submit, poll, exit codes,
 * cancel, rejected requests, preflight, job arrays, hopeless pending reasons, re-attach.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalTransport } from '../../transport/local.ts'
import { SlurmClient } from './client.ts'
import { SlurmJobs, type SlurmJobUpdate } from './jobs.ts'
import { ensureSlurm, pool, removeTempRunsDirs, testJobs, type testSite } from './testing.ts'

beforeAll(() => {
  ensureSlurm()
})
// a failed assertion must not leave jobs holding the 2 cpus of the test cluster
const created: SlurmJobs[] = []
afterAll(async () => {
  for (const j of created) await j.cancel().catch(() => undefined)
  removeTempRunsDirs()
})

function makeJobs(label: string, over: Parameters<typeof testSite>[1] = {}) {
  const made = testJobs(label, over)
  created.push(made.jobs)
  return made
}

async function until<T>(jobs: SlurmJobs, pred: () => T | undefined | null | false, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now()
  for (;;) {
    await jobs.poll()
    const v = pred()
    if (v) return v
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting for Slurm')
    await new Promise((r) => setTimeout(r, 150))
  }
}

const sh = (cmd: string) => ['/bin/sh', '-c', cmd]

describe('SlurmJobs on the real local Slurm', () => {
  it('submits jobs and polls them (one squeue per poll) to COMPLETED / FAILED with decoded exit codes; scripts and logs in the run dir', async () => {
    const { jobs, updates } = makeJobs('ok')
    const res = await jobs.submit({
      pool: pool('default'),
      tasks: [{ taskId: 'A', argv: sh('echo hello-from-slurm; echo "task=$CONTROLROOM_TASK_ID"') }],
    })
    const bad = await jobs.submit({
      pool: pool('default'),
      tasks: [{ taskId: 'F', argv: sh('echo failing >&2; exit 3') }],
    })
    expect(res.ok && bad.ok).toBe(true)
    if (!res.ok) return
    expect(res.jobId).toMatch(/^\d+$/)
    expect(readFileSync(res.scriptPath, 'utf8')).toBe(res.script)
    await until(jobs, () => updates.filter((u) => u.final).length === 2)
    const by = Object.fromEntries(updates.filter((u) => u.final).map((u) => [u.ref.taskId, u]))
    expect(by.A).toMatchObject({ task: 'succeeded', worker: 'gone', slurmState: 'COMPLETED', exitCode: 0 })
    // raw wait status 768 -> exit 3
    expect(by.F).toMatchObject({ task: 'failed', slurmState: 'FAILED', exitCode: 3, signal: null })
    expect(by.F!.reasonText).toContain('exit code 3')
    // every job went through requested first
    expect(updates.filter((u) => u.source === 'submit').map((u) => u.worker)).toEqual(['requested', 'requested'])
    const out = readFileSync(`${jobs.slurmDir}/${jobs.jobName('default')}-${res.jobId}.out`, 'utf8')
    expect(out).toContain('hello-from-slurm')
    expect(out).toContain('task=A')
    // one squeue call per poll, for all jobs of the run
    expect(jobs.client.calls.squeue).toBe(jobs.stats.squeueCalls)
    expect(jobs.stats.polls).toBe(jobs.stats.squeueCalls)
  })

  it('cancels a running sleep job: scancel -> CANCELLED and the process is gone', async () => {
    const { jobs, updates } = makeJobs('cancel')
    const marker = `${20 + Math.floor(Math.random() * 20)}.${Date.now() % 1000}`
    const res = await jobs.submit({ pool: pool('default'), tasks: [{ taskId: 'S', argv: ['sleep', marker] }] })
    expect(res.ok).toBe(true)
    await until(jobs, () => updates.find((u) => u.worker === 'running'))
    const pgrep = () => {
      try {
        return execFileSync('pgrep', ['-f', `^sleep ${marker}$`])
          .toString()
          .trim()
      } catch {
        return ''
      }
    }
    // RUNNING in Slurm comes a moment before slurmstepd has started the process
    const t1 = Date.now()
    while (!pgrep() && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 50))
    expect(pgrep()).not.toBe('')
    await jobs.cancel(['S'])
    const done = await until(jobs, () => updates.find((u) => u.final))
    expect(done).toMatchObject({ task: 'cancelled', slurmState: 'CANCELLED', worker: 'gone' })
    const t0 = Date.now()
    while (pgrep() && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 100))
    expect(pgrep()).toBe('')
  })

  it('maps an unknown partition at submission to a clear problem at the pool, listing partitions', async () => {
    const { jobs } = makeJobs('badpart', { preflight: false })
    const res = await jobs.submit({
      pool: pool('gpu', { config: { partition: 'nosuch' } }),
      tasks: [{ taskId: 'X', argv: ['true'] }],
    })
    expect(res.ok).toBe(false)
    if (res.ok) return
    expect(res.problem.code).toBe('slurm-invalid-partition')
    expect(res.problem.pool).toBe('gpu')
    expect(res.problem.message).toContain('nosuch')
    expect(res.problem.hint).toContain('debug')
    expect(res.problem.hint).toContain('highmem')
  })

  it('preflight refuses impossible requests before submission (gres gpu:2, memory, partition, feature)', async () => {
    const { jobs } = makeJobs('pre')
    const problems = await jobs.preflight([
      pool('gpu2', { gpus: 2 }),
      pool('huge', { memory: 64 * 1024 ** 3 }),
      pool('cpus', { cpus: 8 }),
      pool('part', { config: { partition: 'gpu-a100' } }),
      pool('feat', { config: { constraint: 'bigdisk' } }),
      pool('fine', { gpus: 1, config: { partition: 'highmem', constraint: 'gpu&highmem' } }),
    ])
    const by = (p: string) => problems.filter((x) => x.pool === p)
    expect(by('gpu2')[0]).toMatchObject({ code: 'slurm-impossible-request', severity: 'error' })
    expect(by('gpu2')[0]!.message).toMatch(/2 GPU\(s\) \(has 1\)/)
    expect(by('huge')[0]!.message).toMatch(/65536 MB memory \(has 8000 MB\)/)
    expect(by('cpus')[0]!.message).toMatch(/8 cpus \(has 2\)/)
    expect(by('part')[0]).toMatchObject({ code: 'slurm-invalid-partition' })
    expect(by('part')[0]!.hint).toBe('partitions: debug, highmem')
    expect(by('feat')[0]!.message).toMatch(/features bigdisk/)
    expect(by('fine')).toEqual([])
    // and without preflight, sbatch's own refusal of gpu:2 is mapped too
    const { jobs: noPre } = makeJobs('pre2', { preflight: false })
    const r = await noPre.submit({ pool: pool('gpu2', { gpus: 2 }), tasks: [{ taskId: 'G', argv: ['true'] }] })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.problem.code).toBe('slurm-impossible-request')
  })

  it('optional afterok dependencies: a dependant of a failed job is cancelled by Slurm, never left pending', async () => {
    const { jobs, updates } = makeJobs('afterok', { dependencies: 'afterok' })
    const a = await jobs.submit({ pool: pool('default'), tasks: [{ taskId: 'up', argv: sh('exit 1') }] })
    if (!a.ok) throw new Error(a.problem.message)
    const b = await jobs.submit({
      pool: pool('default'),
      tasks: [{ taskId: 'down', argv: sh('echo must not run') }],
      afterOk: [a.jobId],
    })
    if (!b.ok) throw new Error(b.problem.message)
    expect(b.script).toContain(`#SBATCH --dependency=afterok:${a.jobId}\n#SBATCH --kill-on-invalid-dep=yes\n`)
    await until(jobs, () => updates.filter((u) => u.final).length === 2)
    const down = updates.find((u) => u.final && u.ref.taskId === 'down')!
    expect(down.task === 'cancelled' || (down.task === 'failed' && down.hopeless)).toBe(true)
    expect(down.nodes).toBe(null) // never ran anywhere
    expect(existsSync(`${jobs.slurmDir}/${jobs.jobName('default')}-${b.jobId}.out`)).toBe(false)
  })

  it('falls back to the jobcomp file (sacct -c) and scontrol for jobs that left squeue', async () => {
    const { jobs, updates, site, runs, runId } = makeJobs('fallback')
    const a = await jobs.submit({ pool: pool('default'), tasks: [{ taskId: 'ok', argv: ['true'] }] })
    // array elements too: jobcomp knows them only by their own job ids, learnt while they ran
    const b = await jobs.submit({
      pool: pool('default'),
      tasks: [
        { taskId: 'bad', argv: sh('exit 7') },
        { taskId: 'el1', argv: ['true'] },
      ],
    })
    expect(a.ok && b.ok).toBe(true)
    await until(jobs, () => updates.filter((u) => u.final).length === 3)
    expect(
      jobs
        .refs()
        .filter((r) => r.arrayIndex !== null)
        .every((r) => /^\d+$/.test(r.elementJobId ?? '')),
    ).toBe(true)
    // a new server whose squeue no longer lists them (as after MinJobAge): a client whose squeue is empty
    const client = new SlurmClient(new LocalTransport())
    client.squeue = async () => []
    const seen: SlurmJobUpdate[] = []
    const later = new SlurmJobs({
      transport: new LocalTransport(),
      site,
      runId,
      runDir: `${runs}/${runId}`,
      client,
      onUpdate: (u) => seen.push(u),
    })
    later.attach(jobs.refs())
    await until(later, () => seen.filter((u) => u.final).length === 3)
    const by = Object.fromEntries(seen.map((u) => [u.ref.taskId, u]))
    expect(by.ok).toMatchObject({ task: 'succeeded', source: 'sacct' })
    expect(by.bad).toMatchObject({ task: 'failed', exitCode: 7, source: 'sacct' })
    expect(by.el1).toMatchObject({ task: 'succeeded', source: 'sacct' })
    expect(client.calls.sacct).toBeGreaterThanOrEqual(2) // accounting storage first, then -c (jobcomp)
  })
})

describe('squeue modes', () => {
  it('auto picks the text mode on Slurm 22.05 (its --json ignores filters and lists every job)', async () => {
    const { jobs } = makeJobs('mode')
    const version = execFileSync('squeue', ['--version']).toString()
    const [major, minor] = /(\d+)\.(\d+)/.exec(version)!.slice(1).map(Number)
    expect(await jobs.client.squeueMode()).toBe(major! * 100 + minor! >= 2302 ? 'json' : 'format')
    expect(version).toMatch(/22\.05/) // the Slurm these tests run on: so the text mode is what is tested here
  })
  it('the --json mode gives the same answers (array elements, exit 3)', async () => {
    const { jobs, updates } = makeJobs('json', { squeue: 'json' })
    expect(await jobs.client.squeueMode()).toBe('json')
    await jobs.submit({ pool: pool('default'), tasks: [0, 3].map((i) => ({ taskId: `a${i}`, argv: sh(`exit ${i}`) })) })
    const finals = await until(jobs, () => {
      const f = updates.filter((u) => u.final)
      return f.length === 2 ? f : null
    })
    const by = Object.fromEntries(finals.map((u) => [u.ref.taskId, [u.task, u.exitCode]]))
    expect(by).toEqual({ a0: ['succeeded', 0], a3: ['failed', 3] })
  })
})

describe('polling back-off', () => {
  it('grows the interval while nothing changes and resets on a change', async () => {
    const { jobs, updates } = makeJobs('backoff')
    jobs.start()
    const res = await jobs.submit({ pool: pool('default'), tasks: [{ taskId: 'B', argv: ['sleep', '2'] }] })
    expect(res.ok).toBe(true)
    await new Promise((r) => setTimeout(r, 1500))
    // nothing changed for a while: the interval has grown above the minimum (200 ms)
    expect(jobs.currentInterval).toBeGreaterThan(200)
    const t0 = Date.now()
    while (!updates.find((u) => u.final) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 100))
    expect(updates.find((u) => u.final)).toMatchObject({ task: 'succeeded' })
    await jobs.close()
    expect(existsSync(jobs.slurmDir)).toBe(true)
  })
})
