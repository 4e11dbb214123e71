/**
 * `controlroom validate` and `controlroom plan --json` on every input of fasthep-flow's own tests
 * (server/workflow/__fixtures__/fasthep-flow/inputs.ts), and the Dask worker command built from
 * the LocalCluster keys fasthep-flow's dask_local profile sets.
 */
import { describe, expect, it } from 'vitest'
import { daskWorkerArgv } from '../../execution/backends/dask/deploy/command.ts'
import { resolveHTCondorSite } from '../../execution/strategies/htcondor/site.ts'
import { poolCommands } from '../../execution/strategies/htcondor/submit.ts'
import { poolDirectives } from '../../execution/strategies/slurm/script.ts'
import { testSite } from '../../execution/strategies/slurm/testing.ts'
import { ACCEPTED, GiB, inputText, REFUSED, toy } from '../../workflow/__fixtures__/fasthep-flow/inputs.ts'
import { compileWorkflow } from '../../workflow/index.ts'
import { runCli } from '../testing.ts'

const errorCodes = (r: ReturnType<typeof compileWorkflow>) =>
  r.problems.filter((p) => p.severity === 'error').map((p) => p.code)

describe('the same inputs through the CLI', () => {
  const cli = runCli

  it('validate exits 0 on every accepted input and 1 on every refused one; plan --json is the compiler plan', async () => {
    for (const c of ACCEPTED) {
      const text = inputText(c)
      expect((await cli(['validate', 'wf.yaml', '--no-site'], text)).code, c.test).toBe(0)
      const plan = await cli(['plan', 'wf.yaml', '--json', '--no-site'], text)
      expect(plan.code, c.test).toBe(0)
      c.meaning(JSON.parse(plan.stdout))
    }
    for (const c of REFUSED) {
      const r = await cli(['validate', 'wf.yaml', '--json'], inputText(c))
      expect(r.code, c.test).toBe(1)
      expect(JSON.parse(r.stdout).errors.map((e: { code: string }) => e.code)).toEqual(c.codes)
    }
  })
})

describe("Dask's own config keys reach the worker command", () => {
  const dask = (config: string, pools = '') =>
    compileWorkflow(toy(`{ backend: dask, strategy: local, config: ${config}${pools ? `, pools: ${pools}` : ''} }`))

  it("the dask_local profile's values reach the worker command and the scheduler", () => {
    const r = dask(
      "{ workers: 4, threads_per_worker: 1, processes: true, memory_limit: 4GB, death_timeout: 30, dashboard_address: ':8787' }",
    )
    expect(errorCodes(r)).toEqual([])
    const argv = daskWorkerArgv({
      python: 'python3',
      schedulerAddress: 'tcp://h:1',
      pool: r.plan!.pools[0]!,
      name: 'w',
    })
    const opt = (k: string) => argv[argv.indexOf(k) + 1]
    expect([opt('--nthreads'), opt('--memory-limit'), opt('--death-timeout')]).toEqual(['1', String(4 * GiB), '30'])
    expect(r.plan!.config.dashboard_address).toBe(':8787') // read by the Dask session when it starts the scheduler
  })

  it("a pool's own memory wins over memory_limit", () => {
    const r = dask('{ memory_limit: 4GB }', '{ default: { workers: 1, resources: { memory: 2GB } } }')
    const argv = daskWorkerArgv({ python: 'p', schedulerAddress: 'tcp://h:1', pool: r.plan!.pools[0]!, name: 'w' })
    expect(argv[argv.indexOf('--memory-limit') + 1]).toBe(String(2 * GiB))
  })
})

describe("fasthep-flow's batch keys reach the job script and the submit description", () => {
  it('test_slurm inputs: queue is --partition, account --account, walltime --time, job_extra_directives as given', () => {
    const r = compileWorkflow(
      toy(
        "{ backend: dask, strategy: slurm, resources: { default: { cpus: 1, memory: 4GB, disk: 10GB } }, config: { workers: 20, queue: compute, account: my-account, walltime: '02:00:00', job_extra_directives: [--exclusive] } }",
      ),
    )
    expect(errorCodes(r)).toEqual([])
    const { directives, problems } = poolDirectives(r.plan!.pools[0]!, testSite('/shared/runs'))
    expect(problems).toEqual([])
    expect(directives.map((d) => d.text)).toEqual(
      expect.arrayContaining([
        '--partition=compute',
        '--account=my-account',
        '--time=02:00:00',
        '--exclusive',
        '--mem=4096M',
      ]),
    )
  })

  it('HTCondor: queue is +JobFlavour, account the accounting group, walltime +MaxRuntime', () => {
    const r = compileWorkflow(
      toy("{ strategy: htcondor, config: { queue: workday, account: cms, walltime: '02:00:00' } }"),
    )
    expect(errorCodes(r)).toEqual([])
    const { commands, problems } = poolCommands(r.plan!.pools[0]!, resolveHTCondorSite({}))
    expect(problems).toEqual([])
    const value = (name: string) => commands.find((c) => c.name === name)?.value
    expect([value('+JobFlavour'), value('accounting_group'), value('+MaxRuntime')]).toEqual([
      '"workday"',
      'cms',
      '7200',
    ])
  })
})
