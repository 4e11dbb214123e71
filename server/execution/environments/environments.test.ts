/**
 * Worker environments, run for real in bash: archives built by the test (see
 * __fixtures__/archives.ts for what is a stand-in and why), the rendered setup lines executed,
 * and the task command checks that it sees the activated environment.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalTransport } from '../transport/local.ts'
import { duplicateTransferNames, preflightEnvironment, renderEnvironmentSetup } from './index.ts'
import {
  CONDA_PLACEHOLDER,
  makeCondaPackTarGz,
  makePixiPackTar,
  makeSelfExtractingPack,
  pixiUnpackBin,
} from './__fixtures__/archives.ts'

let dir: string
let shimBin: string
const t = new LocalTransport()

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cr-envs-'))
  shimBin = pixiUnpackBin(dir)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** run setup lines then a task command in bash, with `set -euo pipefail` like a job script */
async function runJob(lines: string[], task: string, env: Record<string, string> = {}, cwd?: string) {
  const script = ['set -euo pipefail', ...lines, task].join('\n')
  return t.run(['bash', '-c', script], { env, cwd, timeoutMs: 60_000 })
}

function scratch(label: string): string {
  const d = path.join(dir, 'scratch', label)
  mkdirSync(d, { recursive: true })
  return d
}

const TASK = 'echo "CONDA_PREFIX=$CONDA_PREFIX"; echo "MARKER=${FASTHEP_ENV_MARKER:-}"; python; "$CONTROLROOM_PYTHON"'

describe('packed-pixi', () => {
  it('transfer (HTCondor): the archive lands in scratch, pixi-unpack unpacks it, activate.sh is sourced', async () => {
    const archive = makePixiPackTar(path.join(dir, 'pp1'), 'pp-transfer')
    const env = { type: 'packed-pixi', environment: 'default', archive_path: archive, worker_env_dir: 'worker-env' }
    const setup = renderEnvironmentSetup(env, { delivery: 'transfer' })
    expect(setup.problems).toEqual([])
    expect(setup.transferInputFiles).toEqual([archive])
    expect(setup.lines.join('\n')).toContain(
      'pixi-unpack --output-directory "$cr_env_out" --env-name worker-env "$cr_env_archive"',
    )
    expect(setup.lines.join('\n')).toContain('. "$cr_env_out/activate.sh"')
    // simulate HTCondor's file transfer into the job's scratch directory
    const s = scratch('pp-transfer')
    copyFileSync(archive, path.join(s, 'environment.tar'))
    const r = await runJob(setup.lines, TASK, { _CONDOR_SCRATCH_DIR: s, PATH: `${shimBin}:${process.env.PATH}` })
    expect(r.stderr).toContain('pixi-unpack (test stand-in)')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`CONDA_PREFIX=${s}/worker-env`)
    expect(r.stdout).toContain('MARKER=pp-transfer')
    expect(r.stdout).toContain(`pp-transfer python from ${s}/worker-env/bin/python`)
    // second task in the same job directory: not unpacked again
    const r2 = await runJob(setup.lines, TASK, { _CONDOR_SCRATCH_DIR: s, PATH: `${shimBin}:${process.env.PATH}` })
    expect(r2.code).toBe(0)
    expect(r2.stderr).not.toContain('pixi-unpack (test stand-in)')
  })

  it('a self-extracting env.sh (pixi-pack --create-executable) needs no pixi-unpack on the worker', async () => {
    const archive = makeSelfExtractingPack(path.join(dir, 'pp2'), 'pp-selfextract')
    const setup = renderEnvironmentSetup(
      { type: 'packed-pixi', archive_path: archive, worker_env_dir: 'worker-env' },
      { delivery: 'transfer' },
    )
    expect(setup.lines.join('\n')).toContain('"$cr_env_archive" --output-directory "$cr_env_out" --env-name worker-env')
    const s = scratch('pp-self')
    copyFileSync(archive, path.join(s, 'env.sh'))
    const r = await runJob(setup.lines, TASK, { _CONDOR_SCRATCH_DIR: s, PATH: '/usr/bin:/bin' })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`CONDA_PREFIX=${s}/worker-env`)
    expect(r.stdout).toContain(`pp-selfextract python from ${s}/worker-env/bin/python`)
  })

  it('shared path (Slurm): copied to node-local scratch, then unpacked and activated', async () => {
    const archive = makePixiPackTar(path.join(dir, 'pp3'), 'pp-shared')
    const setup = renderEnvironmentSetup({ type: 'packed-pixi', archive_path: archive }, { delivery: 'shared-path' })
    expect(setup.transferInputFiles).toEqual([])
    expect(setup.requiredFiles).toEqual([archive])
    const node = scratch('pp-shared-node')
    const r = await runJob(setup.lines, TASK, { CONTROLROOM_SCRATCH: node, PATH: `${shimBin}:${process.env.PATH}` })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`CONDA_PREFIX=${node}/controlroom-env\\.\\d+/worker-env`))
    expect(r.stdout).toContain('pp-shared python from')
  })

  it('an absolute worker_env_dir is used as is', async () => {
    const archive = makePixiPackTar(path.join(dir, 'pp4'), 'pp-abs')
    const target = path.join(dir, 'abs-envs', 'analysis-env')
    const setup = renderEnvironmentSetup(
      { type: 'packed-pixi', archive_path: archive, worker_env_dir: target },
      { delivery: 'shared-path' },
    )
    const r = await runJob(setup.lines, TASK, {
      CONTROLROOM_SCRATCH: scratch('pp-abs'),
      PATH: `${shimBin}:${process.env.PATH}`,
    })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`CONDA_PREFIX=${target}`)
  })

  it('without pixi-unpack on the worker the job stops with a clear message', async () => {
    const archive = makePixiPackTar(path.join(dir, 'pp5'))
    const setup = renderEnvironmentSetup({ type: 'packed-pixi', archive_path: archive }, { delivery: 'transfer' })
    const s = scratch('pp-nounpack')
    copyFileSync(archive, path.join(s, 'environment.tar'))
    const r = await runJob(setup.lines, TASK, { _CONDOR_SCRATCH_DIR: s, PATH: '/usr/bin:/bin' })
    expect(r.code).toBe(127)
    expect(r.stderr).toContain('pixi-unpack is not installed on this worker')
  })

  it('an archive that was not transferred stops the job with its name (exit 66)', async () => {
    const setup = renderEnvironmentSetup(
      { type: 'packed-pixi', archive_path: '/nowhere/environment.tar' },
      { delivery: 'transfer' },
    )
    const r = await runJob(setup.lines, TASK, {
      _CONDOR_SCRATCH_DIR: scratch('pp-missing'),
      PATH: `${shimBin}:${process.env.PATH}`,
    })
    expect(r.code).toBe(66)
    expect(r.stderr).toContain('environment.tar was not transferred')
  })
})

describe('conda-pack', () => {
  it('extracts, sources bin/activate, runs conda-unpack: the prefix is fixed and the task sees the env', async () => {
    const archive = makeCondaPackTarGz(path.join(dir, 'cp1'), 'cp')
    const setup = renderEnvironmentSetup(
      { type: 'conda-pack', archive_path: archive, worker_env_dir: 'analysis' },
      { delivery: 'transfer' },
    )
    expect(setup.problems).toEqual([])
    const text = setup.lines.join('\n')
    expect(text).toContain('tar -xf "$cr_env_archive" -C "$cr_env_prefix"')
    expect(text).toContain('. "$cr_env_prefix/bin/activate"')
    expect(text).toContain('conda-unpack')
    const s = scratch('cp')
    copyFileSync(archive, path.join(s, 'env.tar.gz'))
    const r = await runJob(setup.lines, 'echo "CONDA_PREFIX=$CONDA_PREFIX"; tool; "$CONTROLROOM_PYTHON"', {
      _CONDOR_SCRATCH_DIR: s,
    })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`CONDA_PREFIX=${s}/analysis`)
    expect(r.stdout).toContain(`cp tool prefix=${s}/analysis`)
    expect(r.stdout).not.toContain(CONDA_PLACEHOLDER)
    expect(r.stdout).toContain(`cp python from ${s}/analysis/bin/python`)
    expect(r.stderr).toContain('conda-unpack: prefixes fixed')
  })
})

describe('shared-fs', () => {
  it('is the default: no lines, no files', () => {
    const s = renderEnvironmentSetup(undefined, { delivery: 'shared-path' })
    expect(s).toMatchObject({ type: 'shared-fs', lines: [], transferInputFiles: [], problems: [] })
  })

  it('runs setup lines, sources activate and exports the python', async () => {
    const act = path.join(dir, 'venv-activate.sh')
    ;(await import('node:fs')).writeFileSync(act, 'export SHARED_ENV_ACTIVE=yes\n')
    const s = renderEnvironmentSetup(
      { type: 'shared-fs', setup: ['export SITE_SETUP=done'], activate: act, python: '/usr/bin/python3' },
      { delivery: 'shared-path' },
    )
    const r = await runJob(s.lines, 'echo "$SITE_SETUP $SHARED_ENV_ACTIVE $CONTROLROOM_PYTHON"')
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe('done yes /usr/bin/python3')
  })
})

describe('preflight and validation', () => {
  it('a missing archive is an error with its path, before dispatch', async () => {
    const problems = await preflightEnvironment(
      { type: 'packed-pixi', archive_path: 'build/env.sh' },
      { delivery: 'transfer', baseDir: '/work/analysis' },
    )
    expect(problems).toMatchObject([
      { code: 'environment-archive-missing', severity: 'error', path: 'execution.environment.archive_path' },
    ])
    expect(problems[0]!.message).toContain('/work/analysis/build/env.sh')
    expect(problems[0]!.hint).toMatch(/pixi-pack/)
    const cp = await preflightEnvironment(
      { type: 'conda-pack', archive_path: '/nope/env.tar.gz' },
      { delivery: 'shared-path' },
    )
    expect(cp[0]!.message).toContain('/nope/env.tar.gz')
  })

  it('an existing archive passes; a custom existence check (remote) is used when given', async () => {
    const archive = makePixiPackTar(path.join(dir, 'pf'))
    expect(
      await preflightEnvironment({ type: 'packed-pixi', archive_path: archive }, { delivery: 'transfer' }),
    ).toEqual([])
    const seen: string[] = []
    const p = await preflightEnvironment(
      { type: 'packed-pixi', archive_path: '/remote/env.sh' },
      {
        delivery: 'shared-path',
        exists: async (f) => (seen.push(f), true),
      },
    )
    expect(p).toEqual([])
    expect(seen).toEqual(['/remote/env.sh'])
  })

  it('reports invalid fields and unknown types', () => {
    expect(renderEnvironmentSetup({ type: 'packed-pixi' }, { delivery: 'transfer' }).problems[0]).toMatchObject({
      code: 'environment-invalid',
      severity: 'error',
    })
    expect(
      renderEnvironmentSetup(
        { type: 'packed-pixi', archive_path: '/a/env.sh', worker_env_dir: 'a b' },
        { delivery: 'transfer' },
      ).problems[0],
    ).toMatchObject({
      code: 'environment-invalid',
      path: 'execution.environment.worker_env_dir',
    })
    expect(renderEnvironmentSetup({ type: 'docker' }, { delivery: 'transfer' }).problems[0]!.message).toContain(
      'unknown environment type',
    )
    expect(
      renderEnvironmentSetup({ type: 'conda-pack', archive_path: '/a/env.rpm' }, { delivery: 'transfer' }).problems[0],
    ).toMatchObject({ severity: 'warning' })
  })

  it('finds transfer files that would collide by basename', () => {
    expect(duplicateTransferNames(['/a/env.sh', '/b/env.sh', '/c/x'])).toEqual(['env.sh'])
  })
})
