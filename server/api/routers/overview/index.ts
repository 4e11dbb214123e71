/**
 * overview.*: the control room (home page), fix and resume, run parameters. One procedure per
 * file; the domain is in server/operations and server/execution/resume.ts.
 */
import { createTRPCRouter } from '../../trpc.ts'
import { overviewCluster } from './cluster.ts'
import { overviewLaunch } from './launch.ts'
import { overviewResume } from './resume.ts'
import { overviewResumePreview } from './resumePreview.ts'
import { overviewRunOrigin } from './runOrigin.ts'
import { overviewRuns } from './runs.ts'

export const overviewRouter = createTRPCRouter({
  runs: overviewRuns,
  cluster: overviewCluster,
  resumePreview: overviewResumePreview,
  resume: overviewResume,
  launch: overviewLaunch,
  runOrigin: overviewRunOrigin,
})
