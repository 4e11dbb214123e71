import { createTestDatabase } from './server/db/testing.ts'
import { saveVersion } from './server/library/workflows.ts'
import { compileWorkflow } from './server/workflow/index.ts'
import { RunEngine } from './server/execution/engine.ts'
process.env.CONTROLROOM_HOME = '/tmp/crx/home2'
const t = await createTestDatabase('sqlite')
const engine = new RunEngine({ db: t.db, url: t.url, log: () => {} })
const yaml = `version: 1\nname: b\nanalysis:\n  stages:\n    - id: t0\n      op: noop\nexecution:\n  pools:\n    default: { workers: 2, resources: { cpus: 1 } }\n`
const saved = await saveVersion(t.db, { id: null, name: 'b', mode: 'token', admin: true }, { yaml })
const base = compileWorkflow(yaml, { forRun: true }).plan!
const N = 10000
const stages = Array.from({ length: N }, (_, i) => ({ ...base.stages[0], id: `t${i}`, needs: [], inputs: [], index: i }))
const plan = { ...base, stages, edges: [], pools: base.pools.map((p) => ({ ...p, stages: stages.map((s) => s.id) })) }
const store = engine.store as any
const w = store.write.bind(store)
let wt = 0, wn = 0
store.write = async (b: any) => { const t0 = performance.now(); const r = await w(b); wt += performance.now() - t0; wn++; return r }
const ir = store.insertRun.bind(store)
let it = 0
store.insertRun = async (...a: any[]) => { const t0 = performance.now(); const r = await ir(...a); it += performance.now() - t0; return r }
import { subscribe } from './server/execution/bus.ts'
let cnt = 0; subscribe(null, (evs) => { cnt += evs.length })
const t0 = performance.now()
const r = await engine.createRun({ workflowId: saved.workflow.id, versionId: saved.version.id, plan })
const t1 = performance.now()
await engine.waitForRun(r.runId)
const t2 = performance.now()
console.log({ create: t1 - t0, run: t2 - t1, insertRun: it, writes: wn, writeMs: wt })
await engine.shutdown(); await t.cleanup()
