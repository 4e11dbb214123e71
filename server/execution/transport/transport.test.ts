import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureSlurm } from '../strategies/slurm/testing.ts'
import { parseSqueueJson } from '../strategies/slurm/status.ts'
import {
  LocalTransport,
  SshTransport,
  createTransport,
  readFileTail,
  shellJoin,
  shellQuote,
  stageFile,
} from './index.ts'
import { startTestSshd, type TestSshd } from './testing-sshd.ts'

/** client-side TCP connections to 127.0.0.1:port that are ESTABLISHED (from /proc/net/tcp) */
function establishedTo(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 3 && f[2] === `0100007F:${hex}` && f[3] === '01').length
}

const printArgs = (argv: string[]) => ['sh', '-c', 'for a in "$@"; do printf "%s\\0" "$a"; done', 'sh', ...argv]
const nul = (s: string) => s.split('\0').slice(0, -1)
const tricky = [
  '',
  ' ',
  "it's",
  '"dq"',
  '$HOME',
  '`id`',
  'a;b|c&d',
  '*',
  '~',
  'new\nline',
  'tab\there',
  '\\',
  'ünï©ødé',
  '--',
  '-n',
]

describe('shell quoting', () => {
  it('quotes only what needs quoting', () => {
    expect(shellQuote('abc-1.2/x=y')).toBe('abc-1.2/x=y')
    expect(shellQuote('')).toBe("''")
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
    expect(() => shellQuote('a\0b')).toThrow()
  })
  it('sh re-splits a joined argv into exactly the same words (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'binary' }).map((s) => s.replace(/\0/g, '')),
          { maxLength: 6 },
        ),
        (words) => {
          const out = execFileSync('sh', [
            '-c',
            `for a in ${shellJoin(words.length ? words : [''])}; do printf "%s\\0" "$a"; done`,
          ]).toString()
          expect(nul(out)).toEqual(words.length ? words : [''])
        },
      ),
      { numRuns: 25 },
    )
  })
})

describe('LocalTransport', () => {
  const t = new LocalTransport()
  it('runs argv without a shell: metacharacters are plain bytes', async () => {
    const r = await t.run(printArgs(tricky))
    expect(r.code).toBe(0)
    expect(nul(r.stdout)).toEqual(tricky)
  })
  it('passes stdin, env and cwd; reports exit codes, missing programs and timeouts', async () => {
    expect((await t.run(['cat'], { stdin: 'in put' })).stdout).toBe('in put')
    expect((await t.run(['sh', '-c', 'echo $FOO; pwd'], { env: { FOO: 'bar' }, cwd: '/tmp' })).stdout).toBe(
      'bar\n/tmp\n',
    )
    expect((await t.run(['sh', '-c', 'echo err >&2; exit 3'])).code).toBe(3)
    expect((await t.run(['/no/such/program'])).code).toBe(127)
    const t0 = Date.now()
    const slow = await t.run(['sh', '-c', 'sleep 5 & sleep 5'], { timeoutMs: 300 })
    expect(slow).toMatchObject({ code: 124, timedOut: true })
    expect(Date.now() - t0).toBeLessThan(3000)
  })
  it('stages files through stdin and reads their tail', async () => {
    const dir = execFileSync('mktemp', ['-d']).toString().trim()
    const f = path.join(dir, 'a b', 'job.sh')
    await stageFile(t, f, '#!/bin/sh\necho staged\n', { mode: 0o755 })
    expect(readFileSync(f, 'utf8')).toBe('#!/bin/sh\necho staged\n')
    expect(execFileSync(f).toString()).toBe('staged\n')
    expect(await readFileTail(t, f, 7)).toBe('staged\n')
    expect(await readFileTail(t, path.join(dir, 'nope'))).toBe(null)
  })
  it("keeps the server's secrets out of the commands' environment (sbatch hands it to the job)", async () => {
    const saved = { ...process.env }
    Object.assign(process.env, {
      CONTROLROOM_TOKEN: 'dash-token',
      CONTROLROOM_SESSION_SECRET: 'session-key',
      DATABASE_URL: 'postgresql://u:db-password@h/x',
      AWS_SECRET_ACCESS_KEY: 'aws-key',
      GITHUB_TOKEN: 'gh-token',
      BEARER_TOKEN_FILE: '/run/token-file',
      SLURM_CONF: '/etc/slurm/slurm.conf',
    })
    try {
      const out = (await t.run(['env'], { env: { SITE_GIVEN_TOKEN: 'given-on-purpose' } })).stdout
      for (const s of ['dash-token', 'session-key', 'db-password', 'aws-key', 'gh-token']) expect(out).not.toContain(s)
      expect(out).toContain('BEARER_TOKEN_FILE=/run/token-file')
      expect(out).toContain('SLURM_CONF=/etc/slurm/slurm.conf')
      expect(out).toContain('SITE_GIVEN_TOKEN=given-on-purpose')
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    }
  })
  it('createTransport picks local without ssh settings', () => {
    expect(createTransport({ ssh: null }).kind).toBe('local')
    expect(createTransport({ ssh: { host: 'login' } }).description).toBe('ssh login')
  })
})

describe('SshTransport against a real sshd on localhost', () => {
  let sshd: TestSshd
  let ssh: SshTransport
  beforeAll(async () => {
    ensureSlurm()
    sshd = await startTestSshd()
    ssh = new SshTransport({
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      identityFile: sshd.identityFile,
      knownHostsFile: sshd.knownHostsFile,
      controlDir: path.join(sshd.dir, 'cm'),
      controlPersistSeconds: 30,
      env: { SLURM_CONF: process.env.SLURM_CONF! },
    })
  }, 60_000)
  afterAll(async () => {
    await ssh?.close()
    await sshd?.stop()
  })

  it('runs squeue --json on the "login node" and gets the same jobs as locally', async () => {
    const r = await ssh.run(['squeue', '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const remote = parseSqueueJson(r.stdout).records.map((x) => x.jobId)
    const local = parseSqueueJson(execFileSync('squeue', ['--json'], { maxBuffer: 1 << 30 }).toString()).records.map(
      (x) => x.jobId,
    )
    expect(remote.length).toBeGreaterThan(0)
    // jobs may finish/appear in between; the old ones are identical
    expect(remote.slice(0, 5)).toEqual(local.slice(0, 5))
  })

  it('passes argv through the remote shell unchanged, plus env, cwd and stdin', async () => {
    const r = await ssh.run(printArgs(tricky))
    expect(r.code).toBe(0)
    expect(nul(r.stdout)).toEqual(tricky)
    expect(
      (await ssh.run(['sh', '-c', 'echo "$A|$SLURM_CONF"; pwd'], { env: { A: "x y'z" }, cwd: '/tmp' })).stdout,
    ).toBe(`x y'z|${process.env.SLURM_CONF}\n/tmp\n`)
    expect((await ssh.run(['wc', '-c'], { stdin: 'x'.repeat(100_000) })).stdout.trim()).toBe('100000')
    expect((await ssh.run(['sh', '-c', 'exit 7'])).code).toBe(7)
  })

  it('reuses one connection (ControlMaster): many commands, one TCP connection', async () => {
    await ssh.run(['true'])
    expect(await ssh.isMasterRunning()).toBe(true)
    const results = await Promise.all(Array.from({ length: 8 }, () => ssh.run(['true'])))
    expect(results.every((r) => r.code === 0)).toBe(true)
    expect(establishedTo(sshd.port)).toBe(1)
    await ssh.close()
    expect(await ssh.isMasterRunning()).toBe(false)
    expect((await ssh.run(['true'])).code).toBe(0) // a new master comes up on demand
  })

  it('stages a job script remotely via stdin and submits it with sbatch through ssh', async () => {
    const dir = path.join(sshd.dir, 'run dir')
    const f = path.join(dir, 'job.sh')
    await stageFile(ssh, f, `#!/bin/bash\n#SBATCH --output=/dev/null\n#SBATCH --mem=50M\ntrue\n`)
    expect(readFileSync(f, 'utf8')).toContain('#SBATCH --mem=50M')
    const r = await ssh.run(['sbatch', '--parsable', f])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toMatch(/^\d+$/)
  })

  it('fails fast (BatchMode, no prompt) with a key that is not authorized', async () => {
    const bad = new SshTransport({
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      identityFile: sshd.wrongIdentityFile,
      knownHostsFile: sshd.knownHostsFile,
      controlDir: path.join(sshd.dir, 'cm2'),
    })
    const r = await bad.run(['true'], { timeoutMs: 20_000 })
    expect(r.code).toBe(255)
    expect(r.stderr).toMatch(/Permission denied/)
  })
})
