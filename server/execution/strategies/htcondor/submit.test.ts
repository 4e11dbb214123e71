/**
 * Submit descriptions and job scripts (pure rendering), on the seed's dask + htcondor example:
 * the heterogeneous workflow of the founding document with `backend: dask, strategy: htcondor`
 * (only the execution block differs; the analysis stages are untouched).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { compileWorkflow } from '../../../workflow/index.ts'
import type { ExecutionPlan, PlanPool } from '../../../workflow/types.ts'
import { renderCondorJobScript } from './jobscript.ts'
import { resolveHTCondorSite } from './site.ts'
import {
  bytesToKiB,
  bytesToMiB,
  checkExpression,
  classadString,
  formatArguments,
  formatEnvironment,
  poolCommands,
  renderSubmitDescription,
  type CondorJobSpec,
} from './submit.ts'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..')

/** the seed's heterogeneous pools on dask + htcondor, with site config on the pools */
function seedPlan(extra: (doc: ReturnType<typeof parseDocument>) => void = () => {}): ExecutionPlan {
  const doc = parseDocument(readFileSync(path.join(REPO, 'examples/heterogeneous.yaml'), 'utf8'))
  doc.setIn(['execution', 'backend'], 'dask')
  doc.setIn(['execution', 'strategy'], 'htcondor')
  doc.setIn(
    ['execution', 'pools', 'gpu', 'config'],
    doc.createNode({ queue: 'workday', requirements: '(CUDACapability >= 7.0)' }),
  )
  doc.setIn(
    ['execution', 'pools', 'high_memory', 'config'],
    doc.createNode({ accounting_group: 'group_u_CMS.u_zh', queue: 'longlunch' }),
  )
  extra(doc)
  const r = compileWorkflow(doc.toString(), { fileName: 'heterogeneous-dask-htcondor.yaml' })
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([])
  return r.plan!
}

const site = resolveHTCondorSite({})
const cmd = (cmds: { name: string; value: string }[], name: string) => cmds.find((c) => c.name === name)?.value

function spec(pool: PlanPool, over: Partial<CondorJobSpec> = {}): CondorJobSpec {
  return {
    pool,
    batchName: `cr-run1-${pool.name}`,
    executable: '/runs/run1/condor/TrainModel-a0-1.sh',
    initialDir: '/runs/run1',
    logFile: '/runs/run1/condor.log',
    output: '/runs/run1/condor/TrainModel-a0-1.$(ClusterId).$(ProcId).out',
    error: '/runs/run1/condor/TrainModel-a0-1.$(ClusterId).$(ProcId).err',
    count: 1,
    ...over,
  }
}

describe('submit description from the pool', () => {
  it('the seed example: gpu pool -> request_gpus = 1, memory in MiB, +JobFlavour, requirements', () => {
    const plan = seedPlan()
    expect([plan.backend, plan.strategy]).toEqual(['dask', 'htcondor'])
    const gpu = plan.pools.find((p) => p.name === 'gpu')!
    const r = renderSubmitDescription(spec(gpu), site)
    expect(r.problems).toEqual([])
    expect(cmd(r.commands, 'request_gpus')).toBe('1')
    expect(cmd(r.commands, 'request_memory')).toBe('16384') // 16GB = 16 GiB in MiB (request_memory unit)
    expect(cmd(r.commands, 'request_cpus')).toBe('1')
    expect(cmd(r.commands, '+JobFlavour')).toBe('"workday"')
    expect(cmd(r.commands, 'requirements')).toBe('(CUDACapability >= 7.0)')
    expect(r.text).toMatch(/^request_gpus\s+= 1$/m)
    expect(r.text).toMatch(/^log\s+= \/runs\/run1\/condor\.log$/m)
    expect(r.text).toMatch(/^arguments\s+= "\$\(ClusterId\) \$\(ProcId\)"$/m)
    expect(r.text.trimEnd().split('\n').at(-1)).toBe('queue 1')
  })

  it('examples/dask-htcondor.yaml: gpu pool with cpus, gpus, flavour, requirements and maxruntime; default with disk', () => {
    const r = compileWorkflow(readFileSync(path.join(REPO, 'examples/dask-htcondor.yaml'), 'utf8'), {
      fileName: 'dask-htcondor.yaml',
    })
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([])
    const gpu = renderSubmitDescription(spec(r.plan!.pools.find((p) => p.name === 'gpu')!), site)
    expect(gpu.problems).toEqual([])
    expect(
      Object.fromEntries(
        gpu.commands.filter((c) => /^(request_|\+|requirements)/.test(c.name)).map((c) => [c.name, c.value]),
      ),
    ).toEqual({
      request_cpus: '4',
      request_memory: '16384',
      request_gpus: '1',
      '+JobFlavour': '"workday"',
      '+MaxRuntime': '14400',
      requirements: 'TARGET.CUDACapability >= 7.0',
    })
    const def = renderSubmitDescription(spec(r.plan!.pools.find((p) => p.name === 'default')!), site)
    expect(cmd(def.commands, 'request_disk')).toBe(String(10 * 1024 * 1024))
    expect(cmd(def.commands, '+JobFlavour')).toBe('"longlunch"')
  })

  it('high_memory: 4 cpus, 64GB, accounting_group; default: no gpus line', () => {
    const plan = seedPlan()
    const hm = renderSubmitDescription(spec(plan.pools.find((p) => p.name === 'high_memory')!), site)
    expect([
      cmd(hm.commands, 'request_cpus'),
      cmd(hm.commands, 'request_memory'),
      cmd(hm.commands, 'accounting_group'),
      cmd(hm.commands, '+JobFlavour'),
    ]).toEqual(['4', '65536', 'group_u_CMS.u_zh', '"longlunch"'])
    const def = renderSubmitDescription(spec(plan.pools.find((p) => p.name === 'default')!), site)
    expect(cmd(def.commands, 'request_gpus')).toBeUndefined()
    expect(cmd(def.commands, 'request_memory')).toBe('4096')
  })

  it('units: memory MiB and disk KiB, rounded up', () => {
    expect(bytesToMiB(4 * 1024 ** 3)).toBe(4096)
    expect(bytesToMiB(1)).toBe(1)
    expect(bytesToKiB(1024 ** 3)).toBe(1048576)
    expect(bytesToKiB(1500)).toBe(2)
    const plan = seedPlan((d) => d.setIn(['execution', 'pools', 'default', 'resources', 'disk'], '10GB'))
    const r = renderSubmitDescription(spec(plan.pools.find((p) => p.name === 'default')!), site)
    expect(cmd(r.commands, 'request_disk')).toBe(String(10 * 1024 * 1024))
  })

  it('many partitions: one cluster, queue N; transfer, proxy, environment, MY.* attributes', () => {
    const pool = seedPlan().pools.find((p) => p.name === 'default')!
    const r = renderSubmitDescription(
      spec(pool, {
        count: 5,
        transferInputFiles: ['/envs/env.sh', '/runs/run1/credentials/bearer_token'],
        x509userproxy: '/runs/run1/credentials/x509_proxy',
        environment: { BEARER_TOKEN_FILE: 'bearer_token', MSG: "it's a test", EMPTY: '' },
        attributes: { ControlRoomRun: 'run1', Attempt: 2 },
      }),
      site,
    )
    expect(r.problems).toEqual([])
    expect(r.text).toMatch(/^queue 5$/m)
    expect(r.text).toMatch(/^should_transfer_files\s+= YES$/m)
    expect(r.text).toMatch(/^when_to_transfer_output\s+= ON_EXIT$/m)
    expect(r.text).toMatch(/^transfer_output_files\s+= ""$/m)
    expect(r.text).toMatch(/^transfer_input_files\s+= \/envs\/env\.sh,\/runs\/run1\/credentials\/bearer_token$/m)
    expect(r.text).toMatch(/^x509userproxy\s+= \/runs\/run1\/credentials\/x509_proxy$/m)
    expect(r.text).toMatch(/^environment\s+= "BEARER_TOKEN_FILE=bearer_token MSG='it''s a test' EMPTY=''"$/m)
    expect(r.text).toMatch(/^MY\.ControlRoomRun\s+= "run1"$/m)
    expect(r.text).toMatch(/^MY\.Attempt\s+= 2$/m)
  })

  it('without files to transfer it lets HTCondor decide (IF_NEEDED); the site can force NO', () => {
    const pool = seedPlan().pools[0]!
    expect(renderSubmitDescription(spec(pool), site).text).toMatch(/^should_transfer_files\s+= IF_NEEDED$/m)
    const no = renderSubmitDescription(
      spec(pool, { transferInputFiles: ['/e/env.sh'] }),
      resolveHTCondorSite({ shouldTransferFiles: 'NO' }),
    )
    expect(no.text).toMatch(/^should_transfer_files\s+= NO$/m)
    expect(no.text).not.toMatch(/transfer_input_files/)
    expect(no.problems).toMatchObject([{ code: 'htcondor-transfer-disabled', severity: 'warning' }])
  })

  it('site defaults: flavour, requirements AND-ed, accounting group, extra commands', () => {
    const s = resolveHTCondorSite({
      jobFlavour: 'espresso',
      requirements: '(OpSysAndVer == "AlmaLinux9")',
      accountingGroup: 'group_atlas',
      accountingGroupUser: 'alice',
      extra: ['+ProjectName = "fasthep"', 'max_retries = 2'],
    })
    const plan = seedPlan()
    const gpu = renderSubmitDescription(spec(plan.pools.find((p) => p.name === 'gpu')!), s)
    expect(cmd(gpu.commands, 'requirements')).toBe('((OpSysAndVer == "AlmaLinux9")) && ((CUDACapability >= 7.0))')
    expect(cmd(gpu.commands, '+JobFlavour')).toBe('"workday"') // the pool's queue wins over the site default
    expect(cmd(gpu.commands, 'accounting_group')).toBe('group_atlas')
    expect(cmd(gpu.commands, 'accounting_group_user')).toBe('alice')
    expect(cmd(gpu.commands, '+ProjectName')).toBe('"fasthep"')
    expect(cmd(gpu.commands, 'max_retries')).toBe('2')
    const def = renderSubmitDescription(spec(plan.pools.find((p) => p.name === 'default')!), s)
    expect(cmd(def.commands, '+JobFlavour')).toBe('"espresso"')
  })
})

describe('tokens from the schedd credmon', () => {
  it('site oauthServices -> use_oauth_services', () => {
    const r = renderSubmitDescription(spec(seedPlan().pools[0]!), resolveHTCondorSite({ oauthServices: ['scitokens'] }))
    expect(r.text).toMatch(/^use_oauth_services\s+= scitokens$/m)
  })
})

describe('walltime: HTCondor has none, so it becomes +MaxRuntime', () => {
  // a pool's walltime under strategy htcondor is the job's maximum runtime (fasthep-flow, dask-jobqueue);
  // the site file may choose another translation
  const secs: Record<string, number> = { '2h': 7200, '90m': 5400, '20m': 1200, '30d': 30 * 86400 }
  const withWall = (w: string): PlanPool => ({
    ...seedPlan().pools.find((p) => p.name === 'default')!,
    config: { walltime: w, walltimeSeconds: secs[w] },
  })

  it("the compiler accepts it for strategy htcondor, as fasthep-flow does (the job's maximum runtime)", () => {
    const doc = parseDocument(readFileSync(path.join(REPO, 'examples/heterogeneous.yaml'), 'utf8'))
    doc.setIn(['execution', 'strategy'], 'htcondor')
    doc.setIn(['execution', 'pools', 'default', 'config'], doc.createNode({ walltime: '2h' }))
    const r = compileWorkflow(doc.toString())
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([])
    const pool = r.plan!.pools.find((p) => p.name === 'default')!
    expect(cmd(poolCommands(pool, site).commands, '+MaxRuntime')).toBe('7200')
  })

  it('maxruntime in the pool config becomes +MaxRuntime in seconds', () => {
    const plan = seedPlan((d) =>
      d.setIn(['execution', 'pools', 'default', 'config'], d.createNode({ maxruntime: '2h' })),
    )
    const r = poolCommands(plan.pools.find((p) => p.name === 'default')!, site)
    expect(r.problems).toEqual([])
    expect(cmd(r.commands, '+MaxRuntime')).toBe('7200')
  })

  it('is +MaxRuntime by default (dask-jobqueue and fasthep-flow read walltime so); reject refuses with the choices', () => {
    expect(poolCommands(withWall('2h'), site)).toMatchObject({ problems: [] })
    expect(cmd(poolCommands(withWall('2h'), site).commands, '+MaxRuntime')).toBe('7200')
    const r = poolCommands(withWall('2h'), resolveHTCondorSite({ walltime: 'reject' }))
    expect(r.problems).toMatchObject([{ code: 'htcondor-walltime-unsupported', severity: 'error', pool: 'default' }])
    expect(r.problems[0]!.message).toBe('pool default sets walltime 2h, but HTCondor has no walltime option')
    expect(r.problems[0]!.hint).toMatch(/maxruntime: 2h.*queue: workday.*allowed_execute_duration.*jobflavour.*ignore/)
  })

  it('translates to +MaxRuntime (seconds), allowed_execute_duration, or the smallest fitting +JobFlavour, when the site says so', () => {
    const pool = withWall('90m')
    expect(cmd(poolCommands(pool, resolveHTCondorSite({ walltime: 'maxruntime' })).commands, '+MaxRuntime')).toBe(
      '5400',
    )
    expect(
      cmd(
        poolCommands(pool, resolveHTCondorSite({ walltime: 'allowed_execute_duration' })).commands,
        'allowed_execute_duration',
      ),
    ).toBe('5400')
    expect(cmd(poolCommands(pool, resolveHTCondorSite({ walltime: 'jobflavour' })).commands, '+JobFlavour')).toBe(
      '"longlunch"',
    )
    expect(
      cmd(poolCommands(withWall('20m'), resolveHTCondorSite({ walltime: 'jobflavour' })).commands, '+JobFlavour'),
    ).toBe('"espresso"')
    expect(poolCommands(withWall('30d'), resolveHTCondorSite({ walltime: 'jobflavour' })).problems[0]!.code).toBe(
      'htcondor-walltime-too-long',
    )
    const ignored = poolCommands(pool, resolveHTCondorSite({ walltime: 'ignore' }))
    expect(ignored.problems).toMatchObject([{ code: 'htcondor-walltime-ignored', severity: 'warning' }])
  })
})

describe('validation of site config on pools', () => {
  const poolWith = (config: Record<string, unknown>) => ({
    ...seedPlan().pools.find((p) => p.name === 'default')!,
    config,
  })
  it('rejects extra commands that are malformed or that Control Room sets itself', () => {
    const r = poolCommands(
      poolWith({ extra: ['request_memory = 1', 'queue = 3', 'not a command', 'x =', '+Good = True', 'Log = /tmp/x'] }),
      site,
    )
    expect(r.problems.map((p) => p.code)).toEqual([
      'htcondor-reserved-extra',
      'htcondor-reserved-extra',
      'htcondor-invalid-extra',
      'htcondor-invalid-extra',
      'htcondor-reserved-extra',
    ])
    expect(cmd(r.commands, '+Good')).toBe('True')
  })
  it('rejects unbalanced requirements and odd accounting groups', () => {
    expect(poolCommands(poolWith({ requirements: '(OpSys == "LINUX"' }), site).problems[0]!.code).toBe(
      'htcondor-invalid-requirements',
    )
    expect(poolCommands(poolWith({ accounting_group: 'a b' }), site).problems[0]!.code).toBe(
      'htcondor-invalid-accounting-group',
    )
    expect(checkExpression('(a == "x)") && (b)')).toBeNull()
    expect(checkExpression('a == "x')).toBe('has an unterminated string')
  })
  it('a fractional cpu request is rounded up with a warning; bad site config is an error', () => {
    const p = { ...seedPlan().pools[0]!, resources: { cpus: 1.5, memoryBytes: null, gpus: 0, diskBytes: null } }
    const r = poolCommands(p, site)
    expect(cmd(r.commands, 'request_cpus')).toBe('2')
    expect(r.problems[0]).toMatchObject({ code: 'htcondor-fractional-cpus', severity: 'warning' })
    expect(() => resolveHTCondorSite({ walltime: 'sometimes' })).toThrow(/htcondor.walltime/)
    expect(() => resolveHTCondorSite({ jobFlavour: 'two words' })).toThrow(/htcondor.jobFlavour/)
  })
  it('paths with commas or quotes cannot go into a submit file', () => {
    const r = renderSubmitDescription(spec(seedPlan().pools[0]!, { transferInputFiles: ['/a,b/env.sh'] }), site)
    expect(r.problems[0]!.code).toBe('htcondor-invalid-path')
    const dup = renderSubmitDescription(
      spec(seedPlan().pools[0]!, { transferInputFiles: ['/a/env.sh', '/b/env.sh'] }),
      site,
    )
    expect(dup.problems[0]!.code).toBe('htcondor-duplicate-transfer-name')
  })
})

describe('quoting', () => {
  it('environment and arguments in the new syntax of the condor_submit manual', () => {
    // manual: environment = "one=1 two=""2"" three='spacey ''quoted'' value'"
    expect(formatEnvironment({ one: '1', two: '"2"', three: "spacey 'quoted' value" })).toBe(
      `"one=1 two=""2"" three='spacey ''quoted'' value'"`,
    )
    // manual: arguments = "one ""two"" 'spacey ''quoted'' argument'"
    expect(formatArguments(['one', '"two"', "spacey 'quoted' argument"])).toBe(
      `"one ""two"" 'spacey ''quoted'' argument'"`,
    )
  })
})

describe('job script', () => {
  it('selects the task by ProcId, exports the ids, runs setup and credential lines first', () => {
    const { script, problems } = renderCondorJobScript({
      pool: 'default',
      tasks: [
        { taskId: 'P-0', argv: ['echo', 'zero'] },
        { taskId: 'P-1', argv: ['echo', 'one two'], env: { PART: '1' } },
      ],
      env: { CONTROLROOM_RUN_ID: 'run1' },
      credentialLines: ['export BEARER_TOKEN_FILE="${_CONDOR_SCRATCH_DIR:-$PWD}/bearer_token"'],
      setupLines: ['. /opt/env/activate.sh'],
    })
    expect(problems).toEqual([])
    expect(script.startsWith('#!/bin/bash\n')).toBe(true)
    const i = (s: string) => script.indexOf(s)
    expect(i('BEARER_TOKEN_FILE')).toBeLessThan(i('. /opt/env/activate.sh'))
    expect(i('. /opt/env/activate.sh')).toBeLessThan(i('case "$cr_proc" in'))
    expect(script).toContain("    export PART=1\n    exec echo 'one two' ;;")
    expect(script).toContain('export CONTROLROOM_CONDOR_JOB_ID="${1:-}.${2:-}"')
  })
})

describe('hostile names: one submit command per line', () => {
  it('a ClassAd string escapes quotes, backslashes and every control character', () => {
    expect(classadString('a"b\\c')).toBe('"a\\"b\\\\c"')
    expect(classadString('S\nqueue 1000\nexecutable = /bin/evil')).toBe('"S\\nqueue 1000\\nexecutable = /bin/evil"')
    expect(classadString('x\r\t\u0001')).toBe('"x\\r\\t\\001"')
  })

  it('a stage id with a newline in a job attribute stays on one line, and no extra queue/executable appears', () => {
    const plan = seedPlan()
    const r = renderSubmitDescription(
      spec(plan.pools.find((p) => p.name === 'default')!, {
        attributes: { ControlRoomStage: 'S\nqueue 1000\nexecutable = /bin/evil' },
        environment: { CONTROLROOM_STAGE: 'S\nqueue 7' },
      }),
      site,
    )
    const lines = r.text.split('\n')
    expect(lines.filter((l) => /^queue\b/.test(l))).toEqual(['queue 1'])
    expect(lines.filter((l) => /^executable\b/.test(l))).toHaveLength(1)
    expect(r.text).toContain('MY.ControlRoomStage')
  })

  it('the compiler refuses a stage id with control characters, at the id', () => {
    const r = compileWorkflow('analysis:\n  stages:\n    - id: "S\\nqueue 1000"\n      op: noop\n')
    expect(r.ok).toBe(false)
    expect(r.problems.map((p) => `${p.range.start.line}:${p.range.start.col} ${p.code}`)).toEqual([
      '3:11 invalid-stage-id',
    ])
  })
})
