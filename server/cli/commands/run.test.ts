/** `controlroom run` / `controlroom runs` through the dispatcher, on a test database (in-process). */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../main.ts'
import { captureIo, cliTestHome } from '../testing.ts'

const home = cliTestHome('run')

describe('controlroom run', () => {
  it('saves the file as a version, runs it, prints a summary and exits 0 on success', async () => {
    const file = path.join(home.dir, 'ok.yaml')
    writeFileSync(
      file,
      `version: 1\nname: cli-ok\nanalysis:\n  stages:\n    - id: Hello\n      op: shell\n      params: { command: "echo hi" }\n    - id: Done\n      op: noop\n`,
    )
    const c = captureIo()
    expect(await main(['run', file], c.io)).toBe(0)
    const text = c.out.join('')
    expect(text).toMatch(/workflow "cli-ok" version 1/)
    expect(text).toMatch(/Hello\s+succeeded/)
    expect(text).toMatch(/run \S+ succeeded in/)
    home.reuse()
    // the same file again: unchanged version, a second run, JSON output
    const j = captureIo()
    expect(await main(['run', file, '--json'], j.io)).toBe(0)
    const res = JSON.parse(j.out.join(''))
    expect(res).toMatchObject({ ok: true, state: 'succeeded', counts: { succeeded: 2 } })
    const runs = await home.t.db.run.findMany({ where: { workflowId: res.workflowId } })
    expect(runs.map((r) => r.source)).toEqual(['cli', 'cli'])
    expect(await home.t.db.workflowVersion.count({ where: { workflowId: res.workflowId } })).toBe(1)
  })

  it('exits 1 when the run fails, and when it is refused', async () => {
    home.reuse()
    const file = path.join(home.dir, 'bad.yaml')
    writeFileSync(
      file,
      `version: 1\nname: cli-bad\nanalysis:\n  stages:\n    - id: Boom\n      op: shell\n      params: { command: "echo reading input >&2; echo 'no such file: events.root' >&2; exit 4" }\n    - id: After\n      op: noop\n`,
    )
    const c = captureIo()
    expect(await main(['run', file, '--json'], c.io)).toBe(1)
    const res = JSON.parse(c.out.join(''))
    expect(res).toMatchObject({ ok: false, state: 'failed', failed: [{ stage: 'Boom', reason: 'exit code 4' }] })
    // its downstream task is skipped, with the reason
    expect(res.skipped).toMatchObject([{ stage: 'After', reason: expect.stringMatching(/Boom/) }])
    // the failed task with the last lines of its log
    expect(res.failed[0].logTail).toEqual(['reading input', 'no such file: events.root'])
    home.reuse()
    const h = captureIo()
    expect(await main(['run', file], h.io)).toBe(1)
    expect(h.out.join('')).toMatch(
      /failed: Boom \(\S+\): exit code 4 \(exit 4\)\n\s+\| reading input\n\s+\| no such file: events.root\n/,
    )
    home.reuse()
    const file2 = path.join(home.dir, 'gpu.yaml')
    writeFileSync(
      file2,
      `version: 1\nname: cli-gpu\nanalysis:\n  stages:\n    - id: T\n      op: noop\n      execution: { require: gpu }\nexecution:\n  pools:\n    gpu: { workers: 1, resources: { gpus: 64 } }\n`,
    )
    const d = captureIo()
    expect(await main(['run', file2], d.io)).toBe(1)
    expect(d.err.join('')).toMatch(/pool 'gpu' needs 64 GPUs/)
  })

  it('a packed environment under --strategy local is refused as if written in the file, at its line:col', async () => {
    home.reuse()
    const file = path.join(home.dir, 'packed.yaml')
    // the archive does not exist: were the override not checked, the task would run with this host's software
    writeFileSync(
      file,
      `version: 1\nname: cli-packed\nanalysis:\n  stages:\n    - id: T\n      op: shell\n      params: { command: "echo ran" }\nexecution:\n  strategy: slurm\n  environment:\n    type: packed-pixi\n    archive_path: /nonexistent/environment.sh\n`,
    )
    const before = await home.t.db.run.count()
    const c = captureIo()
    expect(await main(['run', file, '--strategy', 'local'], c.io)).toBe(1)
    expect(c.err.join('')).toContain(
      `${file}:11:11: error environment-not-applied: a packed-pixi environment is unpacked by batch jobs; with strategy local (given as an override) the tasks would run with this host's software instead`,
    )
    const j = captureIo()
    expect(await main(['run', file, '--strategy', 'local', '--json'], j.io)).toBe(1)
    expect(JSON.parse(j.out.join(''))).toMatchObject({
      ok: false,
      refused: true,
      problems: [{ code: 'environment-not-applied', line: 11, col: 11, hint: expect.stringContaining('--strategy') }],
    })
    expect(await home.t.db.run.count()).toBe(before) // nothing ran
  })

  it('usage errors exit 2', async () => {
    const c = captureIo()
    expect(await main(['run'], c.io)).toBe(2)
    expect(await main(['run', path.join(home.dir, 'missing.yaml')], c.io)).toBe(2)
    expect(await main(['run', 'x.yaml', '--strategy', 'pbs'], c.io)).toBe(2)
  })

  it('controlroom runs lists the runs', async () => {
    home.reuse()
    const c = captureIo()
    expect(await main(['runs', '--limit', '10'], c.io)).toBe(0)
    const lines = c.out.join('').trim().split('\n')
    expect(lines[0]).toMatch(/^RUN\s+STATE\s+WORKFLOW/)
    expect(lines.length).toBe(1 + 4)
    home.reuse()
    const j = captureIo()
    expect(await main(['runs', '--json', '--state', 'failed'], j.io)).toBe(0)
    const failedRuns = JSON.parse(j.out.join(''))
    expect(failedRuns.map((r: { workflowName: string }) => r.workflowName)).toEqual(['cli-bad', 'cli-bad'])
    // runs --json carries the failed task and its log tail too
    expect(failedRuns[0].failed[0]).toMatchObject({
      stage: 'Boom',
      logTail: ['reading input', 'no such file: events.root'],
    })
    expect(failedRuns[0].warnings).toEqual([])
  })
})

describe('controlroom run tells the truth', () => {
  it('prints the compile warnings with their positions (and carries them in --json)', async () => {
    home.reuse()
    const file = path.join(home.dir, 'warn.yaml')
    writeFileSync(
      file,
      `version: 1\nname: cli-warn\nanalysis:\n  stages:\n    - id: A\n      op: noop\n      execution: { fallback: default }\n`,
    )
    const c = captureIo()
    expect(await main(['run', file], c.io)).toBe(0)
    expect(c.err.join('')).toContain(`${file}:7:20: warning fallback-without-prefer:`)
    home.reuse()
    const j = captureIo()
    expect(await main(['run', file, '--json'], j.io)).toBe(0)
    expect(JSON.parse(j.out.join('')).warnings).toMatchObject([{ code: 'fallback-without-prefer', line: 7, col: 20 }])
  })

  it('with Dask: the workers are stopped and stored before the database closes', async () => {
    home.reuse()
    const file = path.join(home.dir, 'dask.yaml')
    writeFileSync(
      file,
      `version: 1\nname: cli-dask\nanalysis:\n  stages:\n    - id: A\n      op: shell\n      params: { command: "echo a" }\n`,
    )
    const c = captureIo()
    const logged: string[] = []
    const origError = console.error
    console.error = (...a: unknown[]) => logged.push(a.map(String).join(' '))
    try {
      expect(await main(['run', file, '--backend', 'dask', '--json'], c.io)).toBe(0)
    } finally {
      console.error = origError
    }
    const res = JSON.parse(c.out.join(''))
    expect(res.state).toBe('succeeded')
    const workers = await home.t.db.worker.findMany({ where: { runId: res.runId } })
    expect(workers.length).toBeGreaterThan(0)
    expect(workers.map((w) => w.state)).toEqual(workers.map(() => 'gone'))
    expect(logged.join('\n')).not.toMatch(/could not store/)
  }, 120_000)
})
