import { describe, expect, it } from 'vitest'
import { mapSbatchError, parseGres, parseSinfo, preflightPools } from './preflight.ts'
import { pool, testSite } from './testing.ts'

const GiB = 1024 ** 3
// `sinfo -h -N -o SINFO_FORMAT` of a small heterogeneous cluster
const SINFO = [
  'cpu01|batch*|up|2-00:00:00|32|192000|(null)|intel,avx512|idle|100000',
  'cpu02|batch*|up|2-00:00:00|32|192000|(null)|intel,avx512|drained|100000',
  'gpu01|gpu|up|1-00:00:00|16|256000|gpu:a100:4(S:0-1)|amd,a100|mixed|400000',
  'fat01|bigmem|up|7-00:00:00|64|2048000|(null)|intel|idle|100000',
  'fat01|maint|down|infinite|64|2048000|(null)|intel|idle|100000',
].join('\n')

describe('sinfo parsing', () => {
  it('reads nodes, partitions and the default partition', () => {
    const c = parseSinfo(SINFO)
    expect(c.partitions).toEqual(['batch', 'gpu', 'bigmem', 'maint'])
    expect(c.defaultPartition).toBe('batch')
    expect(c.nodes[2]).toMatchObject({
      name: 'gpu01',
      cpus: 16,
      memoryMB: 256000,
      features: ['amd', 'a100'],
      partitionMaxTime: 86400,
      tmpDiskMB: 400000,
    })
    expect(c.nodes[4]!.partitionMaxTime).toBe(null)
  })
  it('reads gres strings', () => {
    expect(parseGres('gpu:1')).toEqual({ gpu: { '': 1 } })
    expect(parseGres('gpu:a100:4(S:0-1),mps:400')).toEqual({ gpu: { a100: 4, '': 4 }, mps: { '': 400 } })
    expect(parseGres('gpu:a100:2,gpu:v100:2')).toEqual({ gpu: { a100: 2, v100: 2, '': 4 } })
    expect(parseGres('(null)')).toEqual({})
  })
})

describe('preflight', () => {
  const cluster = parseSinfo(SINFO)
  const site = testSite('/r')
  const check = (...pools: Parameters<typeof pool>[]) =>
    preflightPools(
      pools.map((p) => pool(...p)),
      site,
      cluster,
    )

  it('accepts requests some node of the partition satisfies', () => {
    expect(
      check(
        ['a', { cpus: 32, memory: 150 * GiB }],
        ['g', { gpus: 4, config: { partition: 'gpu', gpu_type: 'a100', constraint: 'a100' } }],
        ['f', { memory: 1500 * GiB, config: { partition: 'bigmem', walltime: '5-00:00:00' } }],
      ),
    ).toEqual([])
  })
  it('refuses impossible cpus / memory / gpus / gpu type / features / tmp with the node it compared against', () => {
    const p = check(
      ['c', { cpus: 64 }],
      ['m', { memory: 300 * GiB, config: { partition: 'gpu' } }],
      ['g', { gpus: 1 }],
      ['t', { gpus: 1, config: { partition: 'gpu', gpu_type: 'h100' } }],
      ['f', { config: { constraint: 'avx512&a100' } }],
      ['d', { resources: { cpus: 1, memoryBytes: null, gpus: 0, diskBytes: 1000 * GiB } }],
    )
    expect(p.map((x) => [x.pool, x.code])).toEqual([
      ['c', 'slurm-impossible-request'],
      ['m', 'slurm-impossible-request'],
      ['g', 'slurm-impossible-request'],
      ['t', 'slurm-impossible-request'],
      ['f', 'slurm-impossible-request'],
      ['d', 'slurm-impossible-request'],
    ])
    expect(p[0]!.message).toContain('cpu01: lacks 64 cpus (has 32)')
    expect(p[2]!.message).toContain('1 GPU(s) (has 0)')
    expect(p[3]!.message).toContain('1 h100 GPU(s) (has 0)')
    expect(p[4]!.message).toContain('features a100')
    expect(p[5]!.message).toContain('tmp disk')
    expect(p[0]!.hint).toContain('batch, gpu, bigmem, maint')
  })
  it('allows alternatives in constraints', () => {
    expect(check(['x', { config: { constraint: 'a100|avx512' } }])).toEqual([])
  })
  it('unknown partition, time over the partition limit, partition down', () => {
    const p = check(
      ['u', { config: { partition: 'gpus' } }],
      ['w', { config: { partition: 'gpu', walltime: '2-00:00:00' } }],
      ['d', { config: { partition: 'maint' } }],
    )
    expect(p[0]).toMatchObject({
      code: 'slurm-invalid-partition',
      pool: 'u',
      hint: 'partitions: batch, gpu, bigmem, maint',
      path: 'execution.pools.u.config.partition',
    })
    expect(p[1]).toMatchObject({ code: 'slurm-time-over-limit', severity: 'error' })
    expect(p[2]).toMatchObject({ code: 'slurm-partition-unavailable', severity: 'warning' })
  })
})

describe('sbatch error messages -> problems at the pool', () => {
  const ctx = { partitions: ['debug', 'highmem'], features: ['gpu', 'highmem'] }
  it('maps the messages this Slurm prints', () => {
    const e = mapSbatchError(
      'sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified\n',
      'gpu',
      ctx,
    )
    expect(e).toMatchObject({
      code: 'slurm-invalid-partition',
      pool: 'gpu',
      hint: 'partitions: debug, highmem',
      retryable: false,
    })
    expect(e.message).toContain('"nope"')
    expect(
      mapSbatchError(
        'sbatch: error: Batch job submission failed: Requested node configuration is not available',
        'g',
        ctx,
      ).code,
    ).toBe('slurm-impossible-request')
    expect(
      mapSbatchError('sbatch: error: Batch job submission failed: Invalid feature specification', 'g', ctx),
    ).toMatchObject({ code: 'slurm-invalid-constraint', hint: 'node features: gpu, highmem' })
    expect(mapSbatchError('sbatch: error: Memory specification can not be satisfied', 'g', ctx).code).toBe(
      'slurm-impossible-memory',
    )
    expect(mapSbatchError('sbatch: error: Invalid --time specification', 'g').code).toBe('slurm-invalid-time')
    expect(mapSbatchError("sbatch: unrecognized option '--bogus'", 'g').code).toBe('slurm-invalid-option')
    expect(
      mapSbatchError(
        'sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified',
        'g',
      ).code,
    ).toBe('slurm-invalid-account')
    expect(mapSbatchError('sbatch: error: Batch job submission failed: Invalid qos specification', 'g').code).toBe(
      'slurm-invalid-qos',
    )
    expect(
      mapSbatchError(
        "sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)",
        'g',
      ).code,
    ).toBe('slurm-submit-limit')
    expect(
      mapSbatchError(
        'sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)',
        'g',
      ),
    ).toMatchObject({ code: 'slurm-unreachable', retryable: true })
    expect(mapSbatchError('ssh: connect to host x port 22: Connection timed out', 'g', { code: 255 })).toMatchObject({
      retryable: true,
    })
    expect(mapSbatchError('something new', 'g')).toMatchObject({
      code: 'slurm-submit-failed',
      message: 'sbatch refused pool g: something new',
    })
  })
})
