/**
 * Domain errors, and how every transport shows them.
 *
 * Domain modules (server/library, server/execution, ...) throw a DomainError with a user-facing
 * message (what is wrong and how to fix it). The transports never invent their own mapping:
 * tRPC (server/api/trpc.ts) uses TRPC_CODE, the route handlers (server/api/http.ts) HTTP_STATUS.
 * `details` travels to the client (tRPC: `error.data.details`, HTTP: `error.details`), e.g. the
 * current head on a CONFLICT.
 */
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server'

export const DOMAIN_ERROR_CODES = [
  'BAD_INPUT', // invalid input: message says what and how to fix it
  'NOT_FOUND',
  'CONFLICT', // optimistic concurrency: someone saved since you opened it
  'NOT_RUNNABLE', // an invalid version (or a plan this deployment cannot run)
  'FORBIDDEN', // authenticated, but not allowed (users mode: not the owner)
  'TOO_LARGE',
  'TIMEOUT', // the work took longer than its budget (e.g. compiling hostile YAML)
] as const
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number]

export const TRPC_CODE: Record<DomainErrorCode, TRPC_ERROR_CODE_KEY> = {
  BAD_INPUT: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  NOT_RUNNABLE: 'PRECONDITION_FAILED',
  FORBIDDEN: 'FORBIDDEN',
  TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  TIMEOUT: 'TIMEOUT',
}

export const HTTP_STATUS: Record<DomainErrorCode, number> = {
  BAD_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  NOT_RUNNABLE: 412,
  FORBIDDEN: 403,
  TOO_LARGE: 413,
  TIMEOUT: 408,
}

export class DomainError extends Error {
  readonly domainCode: DomainErrorCode
  readonly details?: Record<string, unknown>
  constructor(code: DomainErrorCode, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'DomainError'
    this.domainCode = code
    this.details = details
  }
}

export function isDomainError(e: unknown): e is DomainError {
  return (
    !!e &&
    typeof e === 'object' &&
    typeof (e as DomainError).domainCode === 'string' &&
    (e as Error).name === 'DomainError'
  )
}

export const badInput = (message: string, details?: Record<string, unknown>) =>
  new DomainError('BAD_INPUT', message, details)
export const notFound = (message: string) => new DomainError('NOT_FOUND', message)
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message)
