import { describe, expect, it } from 'vitest'
import { describeRequest, fitPool, type Machine, type PoolNeed } from './fit.ts'

const node = (name: string, group: string, cpus: number, memGiB: number, gpus = 0, idle = true): Machine => ({
  name,
  group,
  cpus,
  memoryMiB: memGiB * 1024,
  gpus,
  idle,
  usable: true,
})
const need = (over: Partial<PoolNeed>): PoolNeed => ({
  pool: 'high_memory',
  workflows: ['zmumu'],
  workers: 2,
  cpus: 1,
  memoryMiB: 64 * 1024,
  gpus: 0,
  partition: 'highmem',
  ...over,
})

describe('fitPool: which part of the cluster can give a pool what it asks for', () => {
  const cluster = [
    node('hm01', 'highmem', 32, 256),
    node('hm02', 'highmem', 32, 256, 0, false),
    node('c01', 'debug', 8, 32),
    node('g01', 'gpu', 16, 128, 4),
  ]

  it('says how many nodes of the partition host every worker at once', () => {
    const fit = fitPool(need({}), cluster, { kind: 'slurm' })
    expect(fit).toMatchObject({ verdict: 'fits', machines: 1, idleMachines: 1, concurrentWorkers: 8 })
    expect(fit.sentence).toBe('high_memory needs 2 × 64 GB: 1 node of partition highmem can give it')
  })

  it('packs by the scarcest resource and counts idle nodes among those needed', () => {
    const fit = fitPool(need({ workers: 6, cpus: 16, memoryMiB: 8192 }), cluster, { kind: 'slurm' })
    // 2 workers per 32-CPU node: 3 nodes needed but the partition has 2 -> 4 at once
    expect(fit).toMatchObject({ verdict: 'partly', concurrentWorkers: 4, machines: 2, idleMachines: 1 })
    expect(fit.sentence).toBe(
      'high_memory needs 6 × 16 CPUs, 8 GB: 2 nodes of partition highmem can give 4 at once; the other 2 wait in the queue',
    )
    const three = fitPool(need({ workers: 3, cpus: 16, memoryMiB: 8192 }), cluster, { kind: 'slurm' })
    expect(three.sentence).toBe(
      'high_memory needs 3 × 16 CPUs, 8 GB: 2 nodes of partition highmem can give it (1 of them idle now)',
    )
  })

  it('says when no node can host one worker, with the largest node', () => {
    const fit = fitPool(need({ pool: 'gpu', memoryMiB: 16 * 1024, gpus: 1, partition: 'debug' }), cluster, {
      kind: 'slurm',
    })
    expect(fit.verdict).toBe('none')
    expect(fit.sentence).toBe(
      'gpu needs 2 × 1 GPU, 16 GB: no node of partition debug can give one worker (the largest node has 8 CPUs, 32 GB, 0 GPUs)',
    )
  })

  it('names a partition Slurm does not have, listing those it has', () => {
    const fit = fitPool(need({ partition: 'bigmem' }), cluster, { kind: 'slurm' })
    expect(fit.verdict).toBe('no-such-partition')
    expect(fit.sentence).toMatch(/Slurm has no partition bigmem \(partitions: highmem, debug, gpu\)/)
  })

  it('ignores down or drained machines', () => {
    const down = cluster.map((m) => ({ ...m, usable: m.name !== 'hm01' }))
    const fit = fitPool(need({ workers: 1 }), down, { kind: 'slurm' })
    expect(fit).toMatchObject({ verdict: 'fits', machines: 1, idleMachines: 0 })
    expect(fit.sentence).toMatch(/1 node of partition highmem can give it \(0 of them idle now\)/)
  })

  it('fits HTCondor slots ignoring partitions', () => {
    const slots: Machine[] = [{ ...node('slot1@ep1', 'x', 8, 32), group: null }]
    const fit = fitPool(need({ pool: 'default', workers: 4, memoryMiB: 4096, partition: 'highmem' }), slots, {
      kind: 'htcondor',
    })
    expect(fit.sentence).toBe('default needs 4 × 4 GB: 1 slot of the HTCondor pool can give it')
  })

  it('describes requests the way workflows write them', () => {
    expect(describeRequest({ cpus: 1, memoryMiB: null, gpus: 0 })).toBe('1 CPU')
    expect(describeRequest({ cpus: 4, memoryMiB: 1536, gpus: 0 })).toBe('4 CPUs, 1.5 GB')
    expect(describeRequest({ cpus: 1, memoryMiB: 512, gpus: 2 })).toBe('2 GPUs, 512 MB')
  })
})

describe('fitPool on this host (local pools)', () => {
  const host = { ...node('vm', 'x', 2, 8), group: null }
  const local = (over: Partial<PoolNeed>) => need({ pool: 'default', partition: null, memoryMiB: null, ...over })

  it('says this host can give a pool that fits', () => {
    expect(fitPool(local({ workers: 2 }), [host], { kind: 'host' }).sentence).toBe(
      'default needs 2 × 1 CPU: this host can give it',
    )
  })

  it('says how many run at once when the host is too small for all workers', () => {
    const fit = fitPool(local({ workers: 4 }), [host], { kind: 'host' })
    expect(fit.verdict).toBe('partly')
    expect(fit.sentence).toBe('default needs 4 × 1 CPU: this host can give 2 at once; the other 2 wait in the queue')
  })

  it('says what the host has when it cannot give one worker', () => {
    const fit = fitPool(local({ gpus: 1 }), [host], { kind: 'host' })
    expect(fit.verdict).toBe('none')
    expect(fit.sentence).toBe('default needs 2 × 1 GPU: this host cannot give one worker (it has 2 CPUs, 8 GB, 0 GPUs)')
  })
})
