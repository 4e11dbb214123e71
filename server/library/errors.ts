/**
 * Domain errors: thrown by server/library (and usable by any domain module), mapped to tRPC error
 * codes with their user-facing message by server/api/trpc.ts. `details` travels to the client in
 * `error.data.details` (e.g. the current head on a CONFLICT).
 */
export type DomainErrorCode =
  | 'BAD_INPUT' // invalid input: message says what and how to fix it
  | 'NOT_FOUND'
  | 'CONFLICT' // optimistic concurrency: someone saved since you opened it
  | 'NOT_RUNNABLE' // an invalid version cannot be run
  | 'FORBIDDEN' // authenticated, but not allowed (users mode: not the owner)
  | 'TOO_LARGE'

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
