/**
 * run.*: runs of workflow versions. One procedure per file (zod input, and output where the
 * procedure's domain declares its shape); the domain is server/execution. This file only composes.
 */
import { createTRPCRouter } from '../../trpc.ts'
import { runStart } from './start.ts'
import { runPreview } from './preview.ts'
import { runList } from './list.ts'
import { runGet } from './get.ts'
import { runTasks } from './tasks.ts'
import { runArtifacts } from './artifacts.ts'
import { runHepProgress } from './hepProgress.ts'
import { runPoolProfile } from './poolProfile.ts'
import { runJobScript } from './jobScript.ts'
import { runBackendInfo } from './backendInfo.ts'
import { runCancel } from './cancel.ts'
import { runCancelTask } from './cancelTask.ts'
import { runRetryTask } from './retryTask.ts'
import { runRerunFrom } from './rerunFrom.ts'
import { runLog } from './log.ts'
import { runLogLines } from './logLines.ts'
import { runEvents } from './events.ts'

export const runRouter = createTRPCRouter({
  start: runStart,
  preview: runPreview,
  list: runList,
  get: runGet,
  tasks: runTasks,
  artifacts: runArtifacts,
  hepProgress: runHepProgress,
  poolProfile: runPoolProfile,
  jobScript: runJobScript,
  backendInfo: runBackendInfo,
  cancel: runCancel,
  cancelTask: runCancelTask,
  retryTask: runRetryTask,
  rerunFrom: runRerunFrom,
  log: runLog,
  logLines: runLogLines,
  events: runEvents,
})
