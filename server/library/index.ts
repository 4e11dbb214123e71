/** The workflow library (domain). tRPC procedures in server/api/routers/workflow/ call these. */
export * from './workflows.ts'
export { DomainError, isDomainError, type DomainErrorCode } from '../errors.ts'
export { MAX_YAML_BYTES, checkWorkflowText, decodeWorkflowFile } from './text.ts'
export { diffLines, type LineDiff, type DiffHunk } from './diff.ts'
