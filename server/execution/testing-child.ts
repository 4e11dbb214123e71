/**
 * Test fixture (restart.test.ts): an engine in its own process that starts a run of a version
 * and then just waits, so the test can SIGKILL it mid-run.
 *   DATABASE_URL=... CONTROLROOM_HOME=... node --import tsx server/execution/testing-child.ts <versionId>
 * Prints one JSON line {"runId": "..."} once the run is started.
 */
import { getEngine } from './engine.ts'
import { startRun } from './runs.ts'

const versionId = process.argv[2]
if (versionId === undefined) {
  process.stderr.write('usage: node --import tsx server/execution/testing-child.ts <versionId>\n')
  process.exit(2)
}
const engine = getEngine()
const { runId } = await startRun({ versionId, source: 'cli' }, engine)
process.stdout.write(JSON.stringify({ runId, pid: process.pid }) + '\n')
setInterval(() => {}, 1 << 30)
