/**
 * Test fixture: a Node process that starts a DaskSession (strategy local) with a running `sleep`
 * task, prints the pids of everything it started, and waits to be killed. session.test.ts kills it
 * with SIGKILL and checks that nothing it started outlives it.
 */
import { DaskSession } from '../session.ts'
import { TaskLog, testPool } from '../testing.ts'

const runDir = process.argv[2]!
const s = new DaskSession({ runId: 'child', runDir, pools: [testPool('default', 1)], strategy: 'local' })
const log = new TaskLog(s)
await s.start()
await s.submit([{ taskId: 'sleeper', attempt: 0, pool: 'default', argv: ['sh', '-c', `sleep 300 # ${runDir}`] }])
const running = await log.waitFor('sleeper', ['running'], 60_000)
const st = await s.status()
console.log(
  JSON.stringify({
    scheduler: st.scheduler.pid,
    bridge: s.bridge!.pid,
    workers: st.pools.flatMap((p) => p.workers.map((w) => w.pid)),
    task: running.pid,
  }),
)
setInterval(() => {}, 1000)
