import { describe, expect, it } from 'vitest'
import type { ExecutionPlan, PlanStage } from '../../workflow/types.ts'
import { contractPlan } from '../strategies/contract.ts'
import type { Backend, Strategy } from '../types.ts'
import { buildRun, expandTasks, inputsOf } from './expand.ts'

function plan(stages: Partial<PlanStage>[]): ExecutionPlan {
  const base = contractPlan([
    {
      name: 'default',
      workers: 2,
      resources: { cpus: 1, memoryBytes: null, gpus: 0, diskBytes: null },
      resourceClass: null,
      config: {},
      implicit: false,
      stages: [],
    },
  ])
  const s0 = base.stages[0]!
  return {
    ...base,
    stages: stages.map((s, i) => ({ ...s0, id: `S${i}`, index: i, needs: [], ...s }) as PlanStage),
    datasets: [{ name: 'files', files: ['a.root', 'b.root', 'c.root'] }],
  } as ExecutionPlan
}

const drivers = { backend: {} as Backend, strategy: {} as Strategy }

describe('task expansion', () => {
  // a fan-out over a dataset's files, then one merge that needs every partition
  const p = plan([
    { id: 'select', op: 'shell', params: { argv: ['true'], dataset: 'files', partition: 'file' } },
    { id: 'merge', op: 'shell', params: { argv: ['true'] }, needs: ['select'] },
  ])

  it('makes one task per partition and one for an unpartitioned stage, all pending', () => {
    const rows = expandTasks(p, 'r1', new Date())
    expect(rows.map((r) => [r.stageId, r.partitionKey, r.state])).toEqual([
      ['select', 'a.root', 'pending'],
      ['select', 'b.root', 'pending'],
      ['select', 'c.root', 'pending'],
      ['merge', null, 'pending'],
    ])
    expect(new Set(rows.map((r) => r.id)).size).toBe(4)
  })

  it('links every task to the tasks of the stages it needs; only unfinished ones count as unmet', () => {
    const rows = expandTasks(p, 'r1', new Date())
    rows[0]!.state = 'succeeded'
    const run = buildRun({ id: 'r1', plan: p, runDir: '/runs/r1', state: 'pending', options: {}, ...drivers }, rows)
    const merge = run.byStage.get('merge')![0]!
    expect(merge.deps.map((d) => d.partition?.key)).toEqual(['a.root', 'b.root', 'c.root'])
    expect(merge.unmet).toBe(2)
    expect(run.open).toBe(3)
    expect(inputsOf(merge)).toEqual({ select: rows.slice(0, 3).map((r) => `/runs/r1/tasks/${r.id}`) })
  })

  it('copies reused tasks as succeeded with their old directory as the input of what needs them', () => {
    const reuse = {
      fromRunId: 'r0',
      tasks: new Map(
        ['a.root', 'b.root', 'c.root'].map((k) => [
          `select\0${k}`,
          {
            taskDir: `/runs/r0/tasks/${k}`,
            outputs: null,
            metrics: null,
            exitCode: 0,
            startedAt: null,
            finishedAt: null,
            durationMs: 1,
          },
        ]),
      ),
    }
    const rows = expandTasks(p, 'r2', new Date(), reuse)
    expect(rows.filter((r) => r.state === 'succeeded').map((r) => r.reason)).toEqual([
      'reused from run r0',
      'reused from run r0',
      'reused from run r0',
    ])
    const run = buildRun({ id: 'r2', plan: p, runDir: '/runs/r2', state: 'pending', options: {}, ...drivers }, rows)
    const merge = run.byStage.get('merge')![0]!
    expect(merge.unmet).toBe(0)
    expect(inputsOf(merge).select).toEqual(['/runs/r0/tasks/a.root', '/runs/r0/tasks/b.root', '/runs/r0/tasks/c.root'])
  })
})
