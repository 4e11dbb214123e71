/**
 * Strategy `slurm` with worker environments and credentials:
 *  - a packed-pixi workflow's job script reads the archive from its shared path, unpacks it into
 *    the job's scratch directory and activates it; a missing archive is a preflight error naming it;
 *  - a REAL proxy (grid-proxy-init, ../../credentials/__fixtures__/mkcreds.ts) is staged 0600 into
 *    the run directory and exported as X509_USER_PROXY by the job script, and a real job on the
 *    local Slurm reads it (`test -r "$X509_USER_PROXY" && echo ok`).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileWorkflow } from '../../workflow/index.ts'
import { shellQuote as q } from '../transport/quote.ts'
import type { ExecutionPlan } from '../../workflow/types.ts'
import { gridProxyInit, makePki, toolsAvailable, type Pki } from '../../credentials/__fixtures__/mkcreds.ts'
import type { EngineTestEnv } from '../testing.ts'
import { startRun } from '../runs.ts'
import { createSlurmStrategy } from './slurm.ts'
import './slurm/index.ts' // registers strategy `slurm`
import { setupSlurmEngineTest, testSite } from './slurm/testing.ts'

function planOf(yaml: string): ExecutionPlan {
  const r = compileWorkflow(yaml, { fileName: 'w.yaml' })
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([])
  return r.plan!
}

const tools = toolsAvailable()
if (!tools.ok)
  throw new Error(
    `these tests need ${tools.missing.join(', ')} (apt-get install voms-clients globus-proxy-utils scitokens-cpp openssl)`,
  )

let dir: string
let pki: Pki
let proxy: string

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cr-slurm-creds-'))
  pki = makePki(path.join(dir, 'pki'))
  proxy = gridProxyInit(pki, path.join(dir, 'x509up_test'), '2:00')
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('slurm job scripts: worker environments', () => {
  const site = { ...testSite('/shared/runs'), slurm: { ...testSite('/shared/runs').slurm, preflight: false } }
  const packed = (archive: string) => `
analysis:
  stages:
    - { id: A, op: shell, params: { command: "python -c 'print(1)'" } }
execution:
  strategy: slurm
  environment:
    type: packed-pixi
    archive_path: ${archive}
    environment: default
    worker_env_dir: worker-env
`

  it('a packed-pixi workflow: the sbatch script copies the archive from its shared path to scratch, unpacks and activates it', async () => {
    const archive = path.join(dir, 'environment.tar')
    writeFileSync(archive, 'not a real archive: only the script is rendered here')
    const plan = planOf(packed(archive))
    const strategy = createSlurmStrategy({ site })
    const r = await strategy.render(plan.pools[0]!, plan)
    expect(r.kind).toBe('slurm-script')
    const s = r.text
    expect(s).toContain('# worker environment: packed-pixi (pixi environment "default") from environment.tar')
    expect(s).toContain(
      `if [ ! -f ${q(archive)} ]; then echo "controlroom: the worker environment archive ${archive} is not visible on this node" >&2; exit 66; fi`,
    )
    expect(s).toContain(`cp ${q(archive)} "$cr_env_archive"`)
    // unpacked in the job's scratch directory (node-local), one directory per job
    expect(s).toContain(
      'cr_env_out="${CONTROLROOM_SCRATCH:-${SLURM_TMPDIR:-${TMPDIR:-/tmp}}}/controlroom-env.${SLURM_JOB_ID:-$$}"',
    )
    expect(s).toContain(`pixi-unpack --output-directory "$cr_env_out" --env-name ${q('worker-env')} "$cr_env_archive"`)
    expect(s).toContain('. "$cr_env_out/activate.sh"')
    expect(s).toContain(`export CONTROLROOM_PYTHON="$cr_env_out/"${q('worker-env')}/bin/python`)
    // the setup runs before the task
    expect(s.indexOf('. "$cr_env_out/activate.sh"')).toBeLessThan(s.indexOf('exec '))
    expect(s).toMatch(
      /# packed-pixi: environment\.tar \(pixi environment default\) unpacked with pixi-unpack into worker-env/,
    )
  })

  it('conda-pack: extract, activate, conda-unpack', async () => {
    const archive = path.join(dir, 'env.tar.gz')
    writeFileSync(archive, 'x')
    const plan = planOf(
      packed(archive).replace('type: packed-pixi', 'type: conda-pack').replace('    environment: default\n', ''),
    )
    const s = (await createSlurmStrategy({ site }).render(plan.pools[0]!, plan)).text
    expect(s).toContain('tar -xf "$cr_env_archive" -C "$cr_env_prefix"')
    expect(s).toContain('. "$cr_env_prefix/bin/activate"')
    expect(s).toContain('if [ "$cr_env_fresh" = 1 ]; then conda-unpack; fi')
  })

  it('a missing archive is a preflight error with its path', async () => {
    const missing = path.join(dir, 'nope', 'environment.tar')
    const plan = planOf(packed(missing))
    const problems = await createSlurmStrategy({ site }).preflight(plan)
    const p = problems.find((x) => x.code === 'environment-archive-missing')
    expect(p).toMatchObject({ severity: 'error' })
    expect(p!.message).toContain(missing)
    expect(p!.hint).toMatch(/pixi-pack/)
  })

  it('the preview shows where the credentials will be staged (nothing is read)', async () => {
    const plan = planOf(`
analysis:
  stages: [{ id: A, op: shell, params: { command: "true" } }]
execution:
  strategy: slurm
  credentials:
    - { kind: x509, path: /nonexistent/x509up }
    - { kind: scitoken, path: /nonexistent/bt }
`)
    const s = (await createSlurmStrategy({ site }).render(plan.pools[0]!, plan, { runDir: '/shared/runs/r1' })).text
    expect(s).toContain(`export X509_USER_PROXY=${q('/shared/runs/r1/credentials/x509_proxy')}`)
    expect(s).toContain(`export BEARER_TOKEN_FILE=${q('/shared/runs/r1/credentials/bearer_token')}`)
  })
})

describe('slurm + credentials on the real local Slurm', () => {
  let env: EngineTestEnv
  beforeAll(async () => {
    env = await setupSlurmEngineTest(250)
  })
  afterAll(async () => {
    await env?.cleanup()
  })

  it('stages the proxy 0600 in the run directory, exports X509_USER_PROXY, the job reads it; a raw BEARER_TOKEN never reaches the job; the staged copy is removed when the run ends', async () => {
    const versionId = await env.save(`
analysis:
  stages:
    - id: UseProxy
      op: shell
      params:
        command: 'test -r "$X509_USER_PROXY" && echo ok; echo "proxy at $X509_USER_PROXY"; echo "mode $(stat -c %a "$X509_USER_PROXY") dir $(stat -c %a "$(dirname "$X509_USER_PROXY")")"; cmp -s "$X509_USER_PROXY" ${proxy} && echo same; echo "raw token: \${BEARER_TOKEN:-unset}"; echo "leaks: $(env | grep -c raw-secret-from-login)"'
execution:
  strategy: slurm
  pools:
    default: { workers: 1, resources: { cpus: 1, memory: 200MB } }
  credentials:
    - { kind: x509, path: ${proxy} }
`)
    const saved = process.env.BEARER_TOKEN
    process.env.BEARER_TOKEN = 'raw-secret-from-login'
    let runId: string
    let state: string
    try {
      runId = (await startRun({ versionId }, env.engine)).runId
      state = await env.waitFor(runId, 45_000)
    } finally {
      if (saved === undefined) delete process.env.BEARER_TOKEN
      else process.env.BEARER_TOKEN = saved
    }
    const runDir = path.join(env.home, 'runs', runId)
    const task = (await env.t.db.task.findFirst({ where: { runId } }))!
    expect(state, `${task.reason} ${task.message}`).toBe('succeeded')
    const staged = path.join(runDir, 'credentials', 'x509_proxy')
    // the job script exports the staged copy (a path; never the material)
    const scripts = readdirSync(path.join(runDir, 'slurm')).filter((f) => f.endsWith('.sh'))
    expect(scripts.length).toBeGreaterThan(0)
    const script = readFileSync(path.join(runDir, 'slurm', scripts[0]!), 'utf8')
    expect(script).toContain(`export X509_USER_PROXY=${q(staged)}`)
    expect(script).not.toContain('BEGIN')
    expect(script).not.toContain('raw-secret-from-login')
    const out = readFileSync(path.join(runDir, 'tasks', task.id, 'stdout.log'), 'utf8')
    expect(out).toContain('ok\n')
    expect(out).toContain(`proxy at ${staged}`)
    expect(out).toContain('mode 600 dir 700')
    expect(out).toContain('same\n')
    expect(out).toContain('raw token: unset')
    expect(out).toContain('leaks: 0')
    // the run is over: its staged proxy is gone
    const until = Date.now() + 10_000
    while (existsSync(path.dirname(staged)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
    expect(existsSync(path.dirname(staged))).toBe(false)
  })
})
