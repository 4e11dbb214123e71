/**
 * Registers strategy `htcondor` with the driver registry. Imported once from server/execution/drivers.ts:
 *     import './strategies/htcondor/index.ts'
 */
import { registerStrategy } from '../../registry.ts'
import { HTCondorStrategy } from '../htcondor.ts'

registerStrategy('htcondor', () => new HTCondorStrategy())

export { HTCondorStrategy, createHTCondorStrategy, htcondorStrategy, credentialPolicyOf } from '../htcondor.ts'
export type { HTCondorStrategyOptions } from '../htcondor.ts'
export {
  renderSubmitDescription,
  poolCommands,
  formatEnvironment,
  formatArguments,
  bytesToMiB,
  bytesToKiB,
} from './submit.ts'
export type { CondorJobSpec, SubmitCommand, RenderedSubmit } from './submit.ts'
export { renderCondorJobScript } from './jobscript.ts'
export { parseTerse, terseJobIds, mapSubmitError, parseClassAdJson, parseRm, exprOf } from './parse.ts'
export { parseEventLog, parseTextEventLog, parseJsonEventLog, reduceEvents, EVENT_NAMES } from './eventlog.ts'
export type { CondorEvent, EventJobState } from './eventlog.ts'
export { mapView, viewFromAd, viewFromEvents, mapExternalState, holdText, HOLD_CODES, JOB_STATUS } from './status.ts'
export type { CondorJobView } from './status.ts'
export { HTCondorJobs } from './jobs.ts'
export type { CondorJobRef, CondorJobStatus, CondorSubmitRequest } from './jobs.ts'
export { HTCondorClient } from './client.ts'
export { resolveHTCondorSite, htcondorSiteSchema } from './site.ts'
export type { HTCondorSite, WalltimeMode } from './site.ts'
