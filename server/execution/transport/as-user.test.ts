/**
 * AsUserTransport with a real OS user (created here, removed after): a command runs with that
 * user's uid/gid and no supplementary groups, in an environment built from the allow-list (the
 * server's secrets stay out, the batch system's configuration comes through), and files staged
 * through it are that user's, with no group or other bits whatever mode the caller asked for.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lookupOsUser } from '../../auth/os-user.ts'
import type { RunAs } from '../types.ts'
import { AsUserTransport, createTransport, stageFile } from './index.ts'

const user = `crt${process.pid}`
let runAs: RunAs
let dir: string

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('as-user.test.ts needs root: only root switches users')
  execFileSync('useradd', ['--no-create-home', '--shell', '/bin/sh', '--home-dir', '/nonexistent', user])
  runAs = lookupOsUser(user)!
  dir = mkdtempSync(path.join(os.tmpdir(), 'cr-as-user-'))
  execFileSync('chown', [`${runAs.uid}:${runAs.gid}`, dir])
})
afterAll(() => {
  try {
    execFileSync('userdel', [user], { stdio: 'ignore' })
  } catch {
    /* not created */
  }
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('AsUserTransport', () => {
  it("runs a command as the user, with the allow-listed environment and the batch system's configuration", async () => {
    const t = new AsUserTransport(runAs, {
      from: {
        PATH: '/usr/bin:/bin',
        HOME: '/root',
        CONTROLROOM_TOKEN: 'dashboard-token',
        CONTROLROOM_HOME: '/var/lib/controlroom',
        DATABASE_URL: 'postgresql://u:pw@db/x',
        AWS_SECRET_ACCESS_KEY: 'cloud-key',
        SLURM_CONF: '/etc/slurm/slurm.conf',
        _CONDOR_SCHEDD_HOST: 'schedd.example.org',
      },
    })
    expect(t.kind).toBe('as-user')
    const r = await t.run(['sh', '-c', 'id -u; id -g; id -G; env'], { env: { SITE_SETTING: 'x' } })
    expect(r.code).toBe(0)
    const [uid, gid, groups] = r.stdout.split('\n')
    expect([uid, gid, groups]).toEqual([String(runAs.uid), String(runAs.gid), String(runAs.gid)])
    expect(r.stdout).toMatch(/^HOME=\/nonexistent$/m)
    expect(r.stdout).toMatch(new RegExp(`^USER=${user}$`, 'm'))
    expect(r.stdout).toMatch(/^SLURM_CONF=\/etc\/slurm\/slurm.conf$/m)
    expect(r.stdout).toMatch(/^_CONDOR_SCHEDD_HOST=schedd.example.org$/m)
    expect(r.stdout).toMatch(/^SITE_SETTING=x$/m)
    for (const secret of ['dashboard-token', 'cloud-key', 'pw@db', 'CONTROLROOM_HOME'])
      expect(r.stdout).not.toContain(secret)
  })

  it("stages files as the user's own, with no group or other permission", async () => {
    const t = createTransport({ ssh: null } as never, runAs)
    const f = path.join(dir, 'sub', 'job.sh')
    await stageFile(t, f, '#!/bin/sh\ntrue\n', { mode: 0o755 })
    const st = statSync(f)
    expect(st.uid).toBe(runAs.uid)
    expect(st.mode & 0o777).toBe(0o700)
    expect(statSync(path.dirname(f)).uid).toBe(runAs.uid)
    // and it cannot write where the user may not
    await expect(stageFile(t, '/root/not-yours.sh', 'x')).rejects.toThrow(/Permission denied/)
  })

  it('refuses an ssh site: one login serves the whole server', () => {
    expect(() => createTransport({ ssh: { host: 'login.example.org' } } as never, runAs)).toThrow(
      /per-account ssh keys are not supported/,
    )
  })
})
