import { describe, it, expect } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from './main.ts'

const ROOT = join(import.meta.dirname, '../..')
const BIN = join(ROOT, 'bin/controlroom.js')
const tmp = mkdtempSync(join(tmpdir(), 'controlroom-cli-'))

const BAD = `analysis:
  stages:
    - id: A
      op: noop
      needs: [Bx]
    - id: B
      op: noop
      execution:
        require: high_mem
execution:
  pools:
    default: { workers: 2 }
    high_memory: { workers: 1 }
  config:
    scheduler_address: tcp://h:1
`
const badFile = join(tmp, 'bad.yaml')
writeFileSync(badFile, BAD)

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** In-process run of the dispatcher (fast; same code as the binary). */
async function run(...args: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  })
  return { code, stdout, stderr }
}

describe('controlroom binary', () => {
  it('is executable with a node shebang', () => {
    expect(statSync(BIN).mode & 0o111).not.toBe(0)
  })

  it('validate: exit 0 on a valid example', () => {
    const r = cli('validate', 'examples/heterogeneous.yaml', '--no-site')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('examples/heterogeneous.yaml: valid (3 stages, 3 pools)\n')
  })

  it('validate: exit 1 with FILE:LINE:COL: error CODE: message and a hint line', () => {
    const r = cli('validate', badFile)
    expect(r.code).toBe(1)
    const lines = r.stderr.split('\n')
    expect(lines).toContain(`${badFile}:5:15: error unknown-need: stage 'A' needs 'Bx', which is not a stage id`)
    expect(lines).toContain(
      `${badFile}:9:18: error unknown-pool: no pool provides 'high_mem'; did you mean 'high_memory'?`,
    )
    expect(lines).toContain(
      `${badFile}:15:5: warning dask-only-option: 'scheduler_address' only applies to the dask backend; it is ignored with backend: local`,
    )
    expect(lines).toContain(`  hint: did you mean 'B'?`)
    expect(r.stderr).toContain('2 errors, 1 warning')
  })

  it('plan --json: the plan on success, { errors } on failure', () => {
    const ok = cli('plan', 'examples/fasthep-flow.yaml', '--json', '--no-site')
    expect(ok.code).toBe(0)
    const plan = JSON.parse(ok.stdout)
    expect(plan.schemaVersion).toBe(1)
    expect(plan.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(plan.stages.map((s: { pool: string }) => s.pool)).toEqual([
      'default',
      'default',
      'bigmem',
      'gpu',
      'default',
      'default',
    ])

    const bad = cli('plan', badFile, '--json')
    expect(bad.code).toBe(1)
    const out = JSON.parse(bad.stdout)
    expect(out.errors.map((e: { code: string }) => e.code)).toEqual(['unknown-need', 'unknown-pool'])
    expect(out.errors[0]).toMatchObject({
      file: badFile,
      severity: 'error',
      range: { start: { line: 5, col: 15 } },
      path: ['analysis', 'stages', 0, 'needs', 0],
    })
    expect(out.errors[0].hint).toBe("did you mean 'B'?")
  })

  it('exit 2 on usage errors', () => {
    const unknown = cli('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/)
    const missing = cli('validate', join(tmp, 'nope.yaml'))
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/cannot read '.*nope\.yaml': no such file/)
  })
})

describe('controlroom dispatcher (in process)', () => {
  it('help lists the commands', async () => {
    const r = await run('help')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/validate FILE/)
    expect(r.stdout).toMatch(/plan FILE \[--json\]/)
    expect((await run('--help')).code).toBe(0)
    expect((await run('help', 'plan')).stdout).toMatch(/^Usage: controlroom plan FILE/)
  })

  it('no command, missing FILE, unknown option, extra args: exit 2', async () => {
    expect((await run()).code).toBe(2)
    const noFile = await run('validate')
    expect(noFile.code).toBe(2)
    expect(noFile.stderr).toMatch(/missing FILE/)
    const badOpt = await run('plan', 'examples/heterogeneous.yaml', '--jsn')
    expect(badOpt.code).toBe(2)
    expect(badOpt.stderr).toMatch(/unknown option '--jsn'/)
    expect((await run('validate', 'a.yaml', 'b.yaml')).code).toBe(2)
    expect((await run('validate', ROOT)).stderr).toMatch(/is a directory/)
  })

  it('plan prints backend/strategy, pools and each stage with its routing reason', async () => {
    const r = await run('plan', join(ROOT, 'examples/heterogeneous.yaml'), '--no-site')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/backend: local {3}strategy: local/)
    expect(r.stdout).toMatch(/high_memory\s+2\s+4\s+64 GiB\s+0/)
    expect(r.stdout).toMatch(/BuildIndex\s+→ high_memory\s+requires 'high_memory': runs on pool 'high_memory'/)
    expect(r.stdout).toMatch(/ProducePlots\s+→ default\s+no requirement/)
  })

  it('plan shows warnings; validate --json gives errors and warnings', async () => {
    const r = await run('plan', join(ROOT, 'examples/large-500.yaml'), '--no-site')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Stages \(500, in execution order\)/)
    const w = await run('validate', badFile, '--json')
    expect(w.code).toBe(1)
    const out = JSON.parse(w.stdout)
    expect(out.ok).toBe(false)
    expect(out.warnings.map((x: { code: string }) => x.code)).toEqual(['dask-only-option'])
  })

  it('--for-run turns unknown ops into errors', async () => {
    const f = join(tmp, 'unknown-op.yaml')
    writeFileSync(f, 'analysis:\n  stages:\n    - id: A\n      op: custom.thing\n')
    expect((await run('validate', f)).code).toBe(0)
    const r = await run('validate', f, '--for-run', '--no-site')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${f}:4:11: error unknown-op:`)
  })
})

describe('the terminal and the pipe', () => {
  it('plan and validate never write a raw control character (hostile ids, values and op names)', async () => {
    const ESC = '\u001b'
    const hostile = join(tmp, 'hostile.yaml')
    writeFileSync(
      hostile,
      `analysis:\n  stages:\n    - id: A\n      op: "custom.x${ESC}]0;pwned${ESC}\\\\"\n    - id: "B${ESC}[2J"\n      op: noop\nexecution:\n  pools:\n    default: { workers: 1, config: { partition: "p${ESC}[31mred" } }\n`,
    )
    for (const args of [
      ['plan', hostile],
      ['validate', hostile],
      ['plan', hostile, '--for-run'],
    ]) {
      const r = await run(...args)
      const all = r.stdout + r.stderr
      expect(all.length).toBeGreaterThan(20)
      expect(all).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
      expect(all).toContain('\\x1b')
    }
    // with colours on, only the CLI's own colour codes are written
    const out: string[] = []
    await main(['validate', hostile], {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => out.push(s) },
      color: true,
    })
    expect(out.join('').replace(/\u001b\[(?:0|2|31|33)m/g, '')).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/)
    expect(out.join('')).not.toContain(`${ESC}]0;pwned`)
  })

  it('runs --json on a fresh home prints JSON only on stdout (the migration message goes to stderr)', () => {
    const home = mkdtempSync(join(tmpdir(), 'controlroom-fresh-'))
    const r = spawnSync(process.execPath, [BIN, 'runs', '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CONTROLROOM_HOME: home, DATABASE_URL: '' },
      timeout: 60_000,
    })
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual([])
    expect(r.stderr).toMatch(/\[db\] applied migration/)
  }, 90_000)
})
