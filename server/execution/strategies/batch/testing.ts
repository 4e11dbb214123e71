/**
 * Test helpers shared by the engine tests of the batch strategies (not a test): the seed workflow
 * (examples/heterogeneous.yaml) moved onto a strategy, a stand-in `hep.hist` op, and polling.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import { registeredOps, registerOp, resolveOpDefinition } from '../../ops.ts'
import { startRun } from '../../runs.ts'
import type { EngineTestEnv } from '../../testing.ts'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..')

interface SeedPool {
  workers?: number
  resources: { cpus?: number; memory?: string; gpus?: number }
  config?: Record<string, unknown>
}

/** the parts of the seed workflow the tests edit (the rest passes through untouched) */
export interface SeedDoc {
  execution: {
    strategy?: string
    pools: { default: SeedPool; high_memory: SeedPool; gpu: SeedPool }
    credentials?: Record<string, { env: string; required: boolean }>
  }
  registry: { ops: { 'custom.build_index': { command: string[] } } }
}

/** the seed workflow on `strategy`; `edit` changes its document before it is written out again */
export function seedOn(strategy: 'slurm' | 'htcondor', edit: (doc: SeedDoc) => void = () => {}): string {
  const doc = YAML.parse(readFileSync(path.join(REPO_ROOT, 'examples', 'heterogeneous.yaml'), 'utf8')) as SeedDoc
  doc.execution.strategy = strategy
  edit(doc)
  return YAML.stringify(doc)
}

/** the seed's `hep.hist` stage prints instead of reading ROOT files, unless the real op is loaded */
export function standInHepHist(): void {
  if (registeredOps().includes('hep.hist') || resolveOpDefinition({ registry: { ops: {} } } as never, 'hep.hist'))
    return
  registerOp({ name: 'hep.hist', resolve: () => ({ argv: ['sh', '-c', 'echo plotting'], env: {} }) })
}

export const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** waits until `pred` holds, checking every 100 ms; fails with `what` after `ms` */
export async function until(pred: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now()
  while (!(await pred())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`)
    await sleepMs(100)
  }
}

/** saves and starts `yaml`, then waits until its BuildIndex task runs: the run id and that task's batch job id */
export async function startUntilBuildIndexRuns(
  env: EngineTestEnv,
  yaml: string,
): Promise<{ runId: string; jobId: string }> {
  const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
  const buildIndex = () => env.t.db.task.findFirst({ where: { runId, stageId: 'BuildIndex' } })
  await until(async () => (await buildIndex())?.state === 'running', 20_000, 'BuildIndex running')
  return { runId, jobId: (await buildIndex())!.batchJobId! }
}
