import { describe, expect, it } from 'vitest'
import { runStrategyContract, contractPlan } from './contract.ts'
import { LocalStrategy, hostCapacity, preflightLocal } from './local.ts'
import { processesInGroups } from '../procfs.ts'
import { readFileSync } from 'node:fs'

runStrategyContract({
  name: 'local',
  create: () => new LocalStrategy(),
  impossiblePool: { gpus: 64 },
  samples: [
    { external: { state: 'alive' }, expect: { task: 'running', worker: 'running', final: false } },
    { external: { state: 'exited', exitCode: 0 }, expect: { task: 'succeeded', final: true } },
    { external: { state: 'exited', exitCode: 3 }, expect: { task: 'failed', final: true, reason: 'exit code 3' } },
    {
      external: { state: 'exited', exitCode: null, signal: 'SIGKILL' },
      expect: { task: 'failed', reason: 'killed by SIGKILL' },
    },
    { external: { state: 'gone' }, expect: { task: 'lost', worker: 'gone', final: true } },
  ],
  processesOf: (ref) => {
    const groups = [Number(ref.data?.pgid ?? ref.pid)]
    try {
      const st = JSON.parse(readFileSync(`${ref.data?.taskDir}/started.json`, 'utf8'))
      if (st.childPid) groups.push(st.childPid)
    } catch {
      /* none */
    }
    return processesInGroups(groups)
  },
})

describe('local preflight', () => {
  const pool = (name: string, r: Record<string, unknown>, workers = 1) => ({
    name,
    workers,
    resources: { cpus: 1, memoryBytes: null, gpus: 0, diskBytes: null, ...r },
    resourceClass: null,
    config: {},
    implicit: false,
    stages: [`S_${name}`],
  })
  const host = { cpus: 2, memoryBytes: 8 * 1024 ** 3, gpus: 0, diskBytes: 100 * 1024 ** 3 }

  it('refuses pools needing more GPUs, CPUs, memory or disk than the host has, naming the pool and the numbers', () => {
    const plan = contractPlan([
      pool('gpu', { gpus: 64 }),
      pool('big', { cpus: 4 }),
      pool('mem', { memoryBytes: 64 * 1024 ** 3 }),
      pool('disk', { diskBytes: 1024 ** 4 }),
    ])
    const p = preflightLocal(plan, host)
    const byPool = Object.fromEntries(p.map((x) => [x.pool, x]))
    expect(byPool.gpu).toMatchObject({ code: 'host-gpus-insufficient', severity: 'error' })
    expect(byPool.gpu.message).toBe("pool 'gpu' needs 64 GPUs per worker; this host has 0")
    expect(byPool.big.message).toMatch(/needs 4 CPUs per worker; this host has 2/)
    expect(byPool.mem.message).toMatch(/needs 64 GiB per worker; this host has 8 GiB/)
    expect(byPool.disk.code).toBe('host-disk-insufficient')
  })

  it('only warns when the workers together oversubscribe the CPUs', () => {
    const p = preflightLocal(contractPlan([pool('wide', { cpus: 1 }, 20)]), host)
    expect(p).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'host-cpus-oversubscribed', pool: 'wide' }),
    ])
  })

  it('ignores pools that no stage uses', () => {
    const plan = contractPlan([pool('default', {}), pool('gpu', { gpus: 64 })])
    plan.stages = plan.stages.filter((s) => s.pool === 'default')
    expect(preflightLocal(plan, host)).toEqual([])
  })

  it('reads the host capacity and honours overrides', () => {
    const h = hostCapacity({ gpus: 3 })
    expect(h.cpus).toBeGreaterThan(0)
    expect(h.memoryBytes).toBeGreaterThan(0)
    expect(h.gpus).toBe(3)
  })
})
