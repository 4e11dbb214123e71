/**
 * Existing Dask clusters in the overview: the workers' offers and pools, one sentence per pool, and
 * a scheduler that does not answer. The real scheduler is asked in e2e/overview.spec.ts.
 */
import { describe, expect, it } from 'vitest'
import type { WorkerOffer } from '../execution/backends/dask/scheduler-capacity.ts'
import { daskSiteFit, readDaskSites, workerView } from './dask.ts'
import type { StrategyNeed } from './demand.ts'

const ADDR = 'tcp://10.0.0.5:8786'
const GiB = 1024 ** 3

const need = (o: Partial<StrategyNeed> = {}): StrategyNeed => ({
  strategy: 'local',
  pool: 'default',
  workflows: ['zmumu'],
  workers: 2,
  cpus: 1,
  memoryMiB: 4096,
  gpus: 0,
  partition: null,
  schedulerAddress: ADDR,
  ...o,
})

const offer = (name: string, resources: Record<string, number>, memoryLimit = 8 * GiB): WorkerOffer => ({
  address: `tcp://10.0.0.9:${name.length}`,
  name,
  host: '10.0.0.9',
  nthreads: 1,
  hostCpus: 4,
  memoryLimit,
  resources,
})

describe('an existing Dask cluster in the overview', () => {
  it('shows what each worker offers and which pools it serves', () => {
    expect(workerView(offer('w1', { 'pool.default': 1, 'pool.gpu': 1, GPU: 2 }))).toEqual({
      name: 'w1',
      host: '10.0.0.9',
      cpus: 4,
      gpus: 2,
      memoryBytes: 8 * GiB,
      pools: ['default', 'gpu'],
    })
  })

  it('says how many workers serve a pool and can give it', () => {
    const workers = ['a', 'b', 'c'].map((n) => workerView(offer(n, { 'pool.default': 1 })))
    const fit = daskSiteFit(need(), workers, ADDR)
    expect(fit.verdict).toBe('fits')
    expect(fit.sentence).toBe(`default needs 2 × 4 GB: 3 workers of ${ADDR} serve pool default and can give it`)
  })

  it('fewer able workers than the pool asks for: partly, with what that means', () => {
    const workers = [workerView(offer('a', { 'pool.default': 1 })), workerView(offer('b', { 'pool.default': 1 }, GiB))]
    const fit = daskSiteFit(need(), workers, ADDR)
    expect(fit.verdict).toBe('partly')
    expect(fit.sentence).toContain('only 1 worker of')
    expect(fit.sentence).toContain('so one task of the pool runs at once')
  })

  it('no worker serves the pool: says how to start one that does', () => {
    const fit = daskSiteFit(need({ pool: 'gpu', gpus: 1 }), [workerView(offer('a', { 'pool.default': 1 }))], ADDR)
    expect(fit.verdict).toBe('none')
    expect(fit.sentence).toContain('no worker of tcp://10.0.0.5:8786 serves pool gpu')
    expect(fit.sentence).toContain('--resources "pool.gpu=1"')
  })

  it('workers serve the pool but are too small: names the largest offer', () => {
    const fit = daskSiteFit(need({ memoryMiB: 64 * 1024 }), [workerView(offer('a', { 'pool.default': 1 }))], ADDR)
    expect(fit.verdict).toBe('none')
    expect(fit.sentence).toMatch(
      /none of the 1 worker of .* serving it can give one \(the largest offers 4 CPUs, 0 GPUs, 8/,
    )
  })

  it('asks each named scheduler once; one that does not answer says why', async () => {
    const asked: string[] = []
    const other = 'tcp://10.0.0.6:8786'
    const sites = await readDaskSites(
      [
        need(),
        need({ pool: 'big', workflows: ['other'] }),
        need({ schedulerAddress: other }),
        need({ schedulerAddress: null }),
      ],
      async (address) => {
        asked.push(address)
        if (address === other) throw new Error(`cannot ask the Dask scheduler ${other} for its workers: timed out`)
        return [offer('a', { 'pool.default': 1, 'pool.big': 1 })]
      },
    )
    expect(asked.sort()).toEqual([ADDR, other])
    const ok = sites.find((s) => s.address === ADDR)!
    expect(ok.status).toBe('ok')
    expect(ok.fits.map((f) => f.pool)).toEqual(['default', 'big'])
    const down = sites.find((s) => s.address === other)!
    expect(down).toMatchObject({ status: 'unavailable', message: expect.stringContaining('timed out') })
  })
})
