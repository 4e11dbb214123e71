/**
 * The workflow inputs of fasthep-flow's own tests (tests/compiler/test_execution_normalization.py,
 * test_stage_needs.py, test_dataset_applicability.py, tests/profiles/test_profiles_registry.py, tests/backends/_dask/test_{pools,local,slurm,
 * htcondor}.py at the commit named in README.md here),
 * written as the YAML a user would save, on its toy workflow, with what each must mean.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { ExecutionPlan } from '../../types.ts'

const TOY = readFileSync(join(import.meta.dirname, 'toy_workflow.yaml'), 'utf8')

/** fasthep-flow's `toy_workflow` fixture with an `execution` block and/or the stage's `execution` */
export function toy(execution: string, stageExecution?: string): string {
  let text = TOY
  if (stageExecution)
    text = text.replace('      params:\n        factor: 2\n', (m) => `${m}      execution: ${stageExecution}\n`)
  return execution ? `${text}execution: ${execution}\n` : text
}

export const pool = (plan: ExecutionPlan, name: string) => plan.pools.find((p) => p.name === name)!

export const GiB = 1024 ** 3

/** the YAML of a case */
export const inputText = (c: { doc?: string; execution: string; stage?: string }) => c.doc ?? toy(c.execution, c.stage)

/** test_stage_needs.py's workflows: the toy's registry and source with these stages (and datasets) */
export function toyStages(stages: string[], datasets = ''): string {
  const head = TOY.slice(0, TOY.indexOf('analysis:'))
  return `${head}${datasets ? `data:\n  datasets:\n${datasets}` : ''}analysis:\n  stages:\n${stages.map((s) => `    - ${s}\n`).join('')}`
}

const edges = (p: ExecutionPlan) => p.edges.map((e) => `${e.from}->${e.to} ${e.kind}`)

const withAppliesTo = (at: string) =>
  TOY.replace('      params:\n        factor: 2\n', (m) => `${m}      applies_to: ${at}\n`)

export const GPU_CLASSES =
  '{ backend: local, strategy: default, profiles: [], resources: { default: { cpus: 1, memory: 4GB, disk: 10GB }, gpu: { cpus: 4, memory: 16GB, disk: 20GB, gpus: 1 } }, pools: {}, config: {} }'

export interface Accepted {
  test: string
  /** the whole workflow, when the input is about its stages (else the toy with `execution`) */
  doc?: string
  execution: string
  stage?: string
  meaning: (plan: ExecutionPlan) => void
}

/** fasthep-flow accepts these: the plan must say what fasthep-flow's normalised form says */
export const ACCEPTED: Accepted[] = [
  {
    test: 'test_missing_execution_block_gives_defaults',
    execution: '',
    meaning: (p) => {
      expect([p.backend, p.strategy]).toEqual(['local', 'local']) // fasthep-flow's "default" strategy is local
      expect(p.pools.map((x) => [x.name, x.workers])).toEqual([['default', 1]])
    },
  },
  {
    test: 'test_global_execution_normalization_preserves_metadata',
    execution:
      "{ backend: dask, strategy: htcondor, profiles: [bristol_htcondor], resources: { default: { cpus: 1, memory: 4GB, disk: 10GB }, gpu: { cpus: 4, memory: 16GB, disk: 20GB, gpus: 1 } }, config: { workers: 100, walltime: '02:00:00', queue: workday } }",
    meaning: (p) => {
      expect([p.backend, p.strategy]).toEqual(['dask', 'htcondor'])
      expect(pool(p, 'default')).toMatchObject({ resourceClass: 'default', workers: 100 })
      expect(pool(p, 'default').resources).toEqual({ cpus: 1, memoryBytes: 4 * GiB, diskBytes: 10 * GiB, gpus: 0 })
      expect(pool(p, 'default').config).toMatchObject({ queue: 'workday', walltimeSeconds: 7200 })
      expect(JSON.stringify(p)).toContain('bristol_htcondor') // execution.profiles: metadata, as there
    },
  },
  {
    test: 'test_stage_execution_prefer_fallback_modifiers_preserved',
    execution: GPU_CLASSES,
    stage: '{ prefer: gpu, fallback: default, timeout: 10m, modifiers: [gpu.preload, cuda.jit] }',
    meaning: (p) => {
      const s = p.stages[0]!
      expect(s.pool).toBe('gpu')
      expect(s.timeoutSeconds).toBe(600)
      expect(s.modifiers).toEqual([
        { name: 'gpu.preload', params: {} },
        { name: 'cuda.jit', params: {} },
      ])
    },
  },
  {
    test: 'test_stage_execution_expanded_modifiers_preserve_params_and_order',
    execution: '',
    stage:
      '{ modifiers: [{ name: gpu.preload, params: { fields: [Jet_Pt, Jet_Eta] } }, { name: cuda.jit, params: { mode: eager } }] }',
    meaning: (p) =>
      expect(p.stages[0]!.modifiers).toEqual([
        { name: 'gpu.preload', params: { fields: ['Jet_Pt', 'Jet_Eta'] } },
        { name: 'cuda.jit', params: { mode: 'eager' } },
      ]),
  },
  {
    test: 'test_stage_execution_require_preserved / test_node_resource_intent_resolves_required_gpu_resources',
    execution: GPU_CLASSES,
    stage: '{ require: gpu }',
    meaning: (p) => {
      expect(p.stages[0]!.pool).toBe('gpu')
      expect(pool(p, 'gpu').resources).toEqual({ cpus: 4, memoryBytes: 16 * GiB, diskBytes: 20 * GiB, gpus: 1 })
    },
  },
  {
    test: 'test_execution_resources_and_pools_normalize',
    execution:
      "{ resources: { default: { cpus: 1, memory: 4GB }, gpu: { cpus: 4, memory: 16GB, gpus: 1 } }, pools: { default: { resources: default, workers: 100 }, gpu: { resources: gpu, workers: '2' } } }",
    meaning: (p) =>
      expect(p.pools.map((x) => [x.name, x.resourceClass, x.workers])).toEqual([
        ['default', 'default', 100],
        ['gpu', 'gpu', 2],
      ]),
  },
  {
    test: 'test_implicit_default_pool_from_config_workers',
    execution: '{ config: { workers: 4 } }',
    meaning: (p) => expect(p.pools.map((x) => [x.name, x.workers])).toEqual([['default', 4]]),
  },
  {
    test: 'test_execution_metadata_propagates_to_plan',
    execution:
      "{ backend: dask, strategy: htcondor, profiles: [bristol_htcondor], resources: { default: { cpus: 1, memory: 4GB }, gpu: { cpus: 4, memory: 16GB, gpus: 1 } }, pools: { default: { resources: default, workers: 100 }, gpu: { resources: gpu, workers: 2 } }, config: { workers: 100, walltime: '02:00:00' } }",
    stage: '{ prefer: gpu, fallback: default, modifiers: [gpu.preload] }',
    meaning: (p) => {
      expect(p.stages[0]!.pool).toBe('gpu')
      expect(p.pools.map((x) => [x.name, x.workers, x.config.walltimeSeconds])).toEqual([
        ['default', 100, 7200],
        ['gpu', 2, 7200],
      ])
    },
  },
  {
    test: 'test_packed_pixi_worker_environment_spec_written_at_compile',
    execution:
      '{ backend: dask, strategy: htcondor, environment: { type: packed-pixi, environment: default, archive_path: debug/distributed/htcondor/env.sh, worker_env_dir: worker-env } }',
    meaning: (p) =>
      expect(p.environment).toMatchObject({
        type: 'packed-pixi',
        archive_path: 'debug/distributed/htcondor/env.sh',
        worker_env_dir: 'worker-env',
      }),
  },
  {
    test: 'test_node_resource_intent_lists_candidate_pools',
    execution:
      '{ resources: { default: { cpus: 1 }, gpu: { cpus: 4, gpus: 1 } }, pools: { default: { resources: default, workers: 10 }, gpu-small: { resources: gpu, workers: 2 } } }',
    stage: '{ prefer: gpu, fallback: default }',
    meaning: (p) => expect(p.stages[0]!.pool).toBe('gpu-small'),
  },
  {
    test: 'test_pools: test_pool_specific_config_overrides_global_config',
    execution:
      "{ backend: dask, strategy: htcondor, resources: { gpu: { gpus: 1 } }, pools: { gpu: { resources: gpu, workers: 2, config: { queue: gpu, walltime: '01:00:00' } } }, config: { queue: workday, walltime: '02:00:00' } }",
    stage: '{ require: gpu }',
    meaning: (p) => expect(pool(p, 'gpu').config).toMatchObject({ queue: 'gpu', walltimeSeconds: 3600 }),
  },
  {
    test: 'test_pools: test_cli_workers_override_only_default_pool_workers',
    execution:
      '{ resources: { default: {}, gpu: { gpus: 1 } }, pools: { default: { resources: default, workers: 4 }, gpu: { resources: gpu, workers: 2 } }, config: { n_workers: 8 } }',
    meaning: (p) =>
      expect(p.pools.map((x) => [x.name, x.workers])).toEqual([
        ['default', 8],
        ['gpu', 2],
      ]),
  },
  {
    test: 'test_slurm: test_slurm_resources_map_to_cluster_options',
    execution:
      "{ backend: dask, strategy: slurm, resources: { default: { cpus: 1, memory: 4GB, disk: 10GB } }, config: { workers: 20, queue: compute, account: my-account, walltime: '02:00:00', job_extra_directives: [--exclusive] } }",
    meaning: (p) => {
      expect(pool(p, 'default').workers).toBe(20)
      // dask-jobqueue's SLURMCluster(queue=) is the partition; extra directives go into the job script
      expect(pool(p, 'default').config).toMatchObject({
        partition: 'compute',
        account: 'my-account',
        walltimeSeconds: 7200,
        extra: ['--exclusive'],
      })
    },
  },
  {
    test: 'test_slurm: test_slurm_high_memory_pool_requests_high_memory',
    execution:
      "{ backend: dask, strategy: slurm, resources: { high_memory: { cpus: 8, memory: 128GB, disk: 100GB } }, pools: { preprocess: { resources: high_memory, workers: 2, config: { queue: long, walltime: '04:00:00' } } }, config: { queue: compute, walltime: '02:00:00' } }",
    stage: '{ require: high_memory }',
    meaning: (p) => {
      expect(pool(p, 'preprocess')).toMatchObject({ workers: 2, resources: { cpus: 8, memoryBytes: 128 * GiB } })
      expect(pool(p, 'preprocess').config).toMatchObject({ partition: 'long', walltimeSeconds: 4 * 3600 })
    },
  },
  {
    test: 'test_slurm: test_slurm_gpu_pool_requests_gpus_and_advertises_dask_resource',
    execution:
      "{ backend: dask, strategy: slurm, resources: { gpu: { cpus: 4, memory: 16GB, disk: 20GB, gpus: 1 } }, pools: { gpu: { resources: gpu, workers: 2, config: { queue: gpu, walltime: '01:00:00', job_extra_directives: [--exclusive] } } }, config: { queue: compute, walltime: '02:00:00' } }",
    stage: '{ require: gpu }',
    meaning: (p) =>
      expect(pool(p, 'gpu').config).toMatchObject({ partition: 'gpu', walltimeSeconds: 3600, extra: ['--exclusive'] }),
  },
  {
    test: 'test_htcondor: test_htcondor_high_memory_pool_requests_high_memory',
    execution:
      "{ backend: dask, strategy: htcondor, resources: { high_memory: { cpus: 8, memory: 128GB, disk: 100GB } }, pools: { preprocess: { resources: high_memory, workers: 2, config: { queue: long, walltime: '04:00:00' } } }, config: { queue: workday, walltime: '02:00:00' } }",
    stage: '{ require: high_memory }',
    meaning: (p) => expect(pool(p, 'preprocess').config).toMatchObject({ queue: 'long', walltimeSeconds: 4 * 3600 }),
  },
  {
    test: 'test_local: test_dask_local_config (LocalCluster keys, also the dask_local profile)',
    execution: '{ backend: dask, strategy: local, config: { workers: 4, threads_per_worker: 1, processes: true } }',
    meaning: (p) => expect(pool(p, 'default').workers).toBe(4),
  },
  {
    test: 'test_local: workers as a string',
    execution: "{ backend: dask, strategy: local, config: { workers: '2' } }",
    meaning: (p) => expect(pool(p, 'default').workers).toBe(2),
  },
  {
    test: 'test_local: test_dask_local_uses_default_pool_workers_when_config_absent',
    execution:
      '{ backend: dask, strategy: local, config: {}, pools: { default: { resources: default, workers: 3, config: {} } } }',
    meaning: (p) => expect(pool(p, 'default').workers).toBe(3),
  },
]

/** fasthep-flow refuses these (test_invalid_*_errors): refused here too, with a code */
export const REFUSED: { test: string; doc?: string; execution: string; stage?: string; codes: string[] }[] = [
  { test: 'execution must be a mapping', execution: '[]', codes: ['invalid-type'] },
  { test: 'execution.backend must be a string', execution: '{ backend: 1 }', codes: ['invalid-value'] },
  { test: 'execution.strategy must be a string', execution: '{ strategy: 1 }', codes: ['invalid-value'] },
  { test: 'profiles: must be a non-empty string', execution: '{ profiles: [ok, 1] }', codes: ['invalid-type'] },
  { test: 'execution.resources must be a mapping', execution: '{ resources: [] }', codes: ['invalid-type'] },
  { test: 'execution.pools must be a mapping', execution: '{ pools: [] }', codes: ['invalid-type'] },
  { test: 'a resource class must be a mapping', execution: '{ resources: { gpu: 1 } }', codes: ['invalid-type'] },
  {
    test: 'resource keys must be non-empty strings',
    execution: '{ resources: { gpu: { 1: bad } } }',
    codes: ['unknown-key'],
  },
  {
    test: 'gpus must be an integer or string',
    execution: '{ resources: { gpu: { gpus: [] } } }',
    codes: ['invalid-type'],
  },
  {
    test: 'references missing resource class',
    execution: '{ resources: { default: {} }, pools: { gpu: { resources: gpu } } }',
    codes: ['unknown-resource-class'],
  },
  {
    test: 'workers must be a positive integer',
    execution: '{ resources: { default: {} }, pools: { default: { resources: default, workers: 0 } } }',
    codes: ['invalid-workers'],
  },
  {
    test: 'pool resources must be a string',
    execution: '{ resources: { default: {} }, pools: { default: { resources: 1 } } }',
    codes: ['invalid-type'],
  },
  {
    test: 'pool config must be a mapping',
    execution: '{ resources: { default: {} }, pools: { default: { resources: default, config: [] } } }',
    codes: ['invalid-type'],
  },
  { test: 'execution.config must be a mapping', execution: '{ config: [] }', codes: ['invalid-type'] },
  { test: 'execution.environment must be a mapping', execution: '{ environment: [] }', codes: ['invalid-type'] },
  { test: 'stage execution must be a mapping', execution: '', stage: '[]', codes: ['invalid-type'] },
  {
    test: 'cannot define both require and prefer',
    execution: GPU_CLASSES,
    stage: '{ require: gpu, prefer: default }',
    codes: ['require-and-prefer'],
  },
  { test: 'modifiers must be a list', execution: '', stage: '{ modifiers: gpu.preload }', codes: ['invalid-type'] },
  {
    test: 'modifiers[0] must be a string or mapping',
    execution: '',
    stage: '{ modifiers: [1] }',
    codes: ['invalid-type'],
  },
  {
    test: 'modifiers[0] mapping must define name',
    execution: '',
    stage: '{ modifiers: [{ params: {} }] }',
    codes: ['missing-field'],
  },
  {
    test: 'modifiers[0].name must be a non-empty string',
    execution: '',
    stage: '{ modifiers: [{ name: 1 }] }',
    codes: ['invalid-type'],
  },
  {
    test: 'modifiers[0].params must be a mapping',
    execution: '',
    stage: '{ modifiers: [{ name: gpu.preload, params: [] }] }',
    codes: ['invalid-type'],
  },
  {
    test: 'duplicate modifier',
    execution: '',
    stage: '{ modifiers: [gpu.preload, { name: gpu.preload }] }',
    codes: ['duplicate-modifier'],
  },
  { test: 'timeout must be a string or integer', execution: '', stage: '{ timeout: [] }', codes: ['invalid-type'] },
  {
    test: 'test_stage_execution_resource_without_pool_errors_when_pools_defined',
    execution:
      '{ resources: { default: { cpus: 1 }, gpu: { cpus: 4, gpus: 1 } }, pools: { default: { resources: default, workers: 2 } } }',
    stage: '{ require: gpu }',
    codes: ['unknown-pool'],
  },
]

ACCEPTED.push(
  {
    test: 'test_profiles_registry: test_profile_registry_is_copied_into_normalized_workflow (a package registry profile, no stages yet)',
    doc: 'version: "1.0"\nuse: { profiles: ["tests.toy_components:registry"] }\nsources: { events: { kind: toy.source } }\nanalysis: { stages: [] }\n',
    execution: '',
    meaning: (p) => {
      expect(p.stages).toEqual([])
      expect(p.warnings.map((w) => w.code)).toEqual(['no-stages'])
    },
  },
  {
    test: 'test_missing_execution_block_gives_defaults: its normalised form, written out (docs/execution/environments.md)',
    execution:
      '{ backend: local, strategy: default, profiles: [], resources: {}, pools: {}, environment: {}, config: {} }',
    meaning: (p) => {
      expect([p.backend, p.strategy, p.environment.type]).toEqual(['local', 'local', 'shared-fs'])
      // nothing to warn about but the toy's own op
      expect(p.warnings.map((w) => w.code)).toEqual(['unknown-op'])
      expect(p.pools.map((x) => [x.name, x.workers])).toEqual([['default', 1]])
    },
  },
  {
    test: 'test_stage_needs: test_no_needs_keeps_implicit_previous_stage_dependency / test_single_need_replaces_it / test_multiple_needs_add_all',
    doc: toyStages([
      '{ id: A, op: toy.scale }',
      '{ id: B, op: toy.scale }',
      '{ id: C, op: toy.scale, needs: [A] }',
      '{ id: D, op: toy.scale, needs: [A, B] }',
    ]),
    execution: '',
    meaning: (p) => expect(edges(p)).toEqual(['A->B implicit', 'A->C needs', 'A->D needs', 'B->D needs']),
  },
  {
    test: 'test_stage_needs: test_empty_needs_suppresses_implicit_stage_dependency; needs as a string',
    doc: toyStages([
      '{ id: A, op: toy.scale }',
      '{ id: B, op: toy.scale, needs: [] }',
      '{ id: C, op: toy.scale, needs: A }',
    ]),
    execution: '',
    meaning: (p) => expect(edges(p)).toEqual(['A->C needs']),
  },
  {
    test: 'test_stage_needs: test_needs_plus_from_preserves_ordering_and_product_binding',
    doc: toyStages([
      '{ id: Prepare, op: toy.scale }',
      '{ id: HistA, op: toy.scale }',
      '{ id: Render, op: toy.scale, needs: [Prepare], from: [{ node: HistA, port: hist, as: hist }] }',
    ]),
    execution: '',
    meaning: (p) => {
      expect(edges(p)).toEqual(['Prepare->HistA implicit', 'Prepare->Render needs', 'HistA->Render from'])
      expect(p.stages.find((s) => s.id === 'Render')!.inputs).toEqual([{ node: 'HistA', port: 'hist', as: 'hist' }])
    },
  },
  {
    test: 'test_stage_needs: test_duplicate_needs_and_from_edge_keeps_specific_input_metadata / test_dependency_only_edges',
    doc: toyStages([
      '{ id: A, op: toy.scale }',
      '{ id: B, op: toy.scale, needs: [A], from: A }',
      '{ id: C, op: toy.scale, needs: [A, B], from: B }',
    ]),
    execution: '',
    // one edge per pair, the binding one
    meaning: (p) => expect(edges(p)).toEqual(['A->B from', 'A->C needs', 'B->C from']),
  },
  {
    test: 'test_dataset_applicability: test_stage_applies_to_eventtype_normalizes (data)',
    doc: withAppliesTo('{ eventtype: data }'),
    execution: '',
    meaning: (p) => expect(p.stages[0]!.appliesTo).toEqual({ eventtype: 'data' }),
  },
  {
    test: 'test_dataset_applicability: test_stage_applies_to_eventtype_normalizes (mc)',
    doc: withAppliesTo('{ eventtype: mc }'),
    execution: '',
    meaning: (p) => expect(p.stages[0]!.appliesTo).toEqual({ eventtype: 'mc' }),
  },
)

REFUSED.push(
  {
    test: 'test_stage_needs: test_unknown_needed_stage_id_fails_clearly',
    doc: toyStages(['{ id: A, op: toy.scale }', '{ id: B, op: toy.scale, needs: [Missing] }']),
    execution: '',
    codes: ['unknown-need'],
  },
  {
    test: 'test_stage_needs: test_self_dependency_fails_clearly',
    doc: toyStages(['{ id: A, op: toy.scale, needs: [A] }']),
    execution: '',
    codes: ['self-reference'],
  },
  {
    test: 'test_stage_needs: test_needs_cycle_fails_dag_validation',
    doc: toyStages(['{ id: A, op: toy.scale, needs: [B] }', '{ id: B, op: toy.scale, needs: [A] }']),
    execution: '',
    codes: ['cycle'],
  },
  {
    test: 'test_dataset_applicability: applies_to only supports eventtype data or mc',
    doc: withAppliesTo('{ eventtype: signal }'),
    execution: '',
    codes: ['invalid-value'],
  },
  {
    test: 'test_dataset_applicability: applies_to only supports eventtype (not eventtypes)',
    doc: withAppliesTo('{ eventtypes: [mc] }'),
    execution: '',
    codes: ['unknown-key'],
  },
  {
    test: 'test_dataset_applicability: applies_to must be a mapping',
    doc: withAppliesTo('mc'),
    execution: '',
    codes: ['invalid-type'],
  },
)
