/**
 * The failure / retry policy as a pure function: given what happened to an attempt and the budgets
 * used so far, what the engine does next. No I/O, no clock: engine.ts applies the decision.
 *
 * - A failed attempt is retried while the stage's retries last (`execution.retries`, default 0,
 *   at most MAX_RETRIES: a larger value is clamped and the plan warned about).
 * - A lost attempt (its process / job / executor vanished) first uses the lost budget (default 1
 *   extra attempt of its own), then the stage's retries.
 * - Retries wait `retryDelayMs(n)`: exponential backoff from RETRY_BASE_MS, doubling per retry,
 *   capped at RETRY_CAP_MS, so a task that always fails does not spin.
 * - Nothing is retried once the task or its run was asked to stop, or when the failure is final
 *   (the task could not even be prepared).
 */
export const MAX_RETRIES = 100
export const RETRY_BASE_MS = 500
export const RETRY_CAP_MS = 5 * 60_000

export interface AttemptFailure {
  kind: 'failed' | 'lost'
  reason: string
  /** refused for good (cannot be prepared / spec not writable): no retry */
  final?: boolean
  stopRequested: boolean
  retriesUsed: number
  maxRetries: number
  lostUsed: number
  lostBudget: number
}

export type FailureDecision =
  | { action: 'retry'; budget: 'lost' | 'stage'; delayMs: number; reason: string }
  | { action: 'fail'; reason: string }
  | { action: 'cancel' }

export function clampRetries(n: number | null | undefined): number {
  if (n == null || !Number.isFinite(n) || n < 0) return 0
  return Math.min(Math.floor(n), MAX_RETRIES)
}

/** delay before the n-th retry (n >= 1) */
export function retryDelayMs(n: number, baseMs = RETRY_BASE_MS, capMs = RETRY_CAP_MS): number {
  if (baseMs <= 0) return 0
  return Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(n - 1, 30)))
}

export function decideAfterFailure(f: AttemptFailure, o: { baseMs?: number; capMs?: number } = {}): FailureDecision {
  if (f.stopRequested) return f.kind === 'lost' ? { action: 'cancel' } : { action: 'fail', reason: f.reason }
  if (f.final) return { action: 'fail', reason: f.reason }
  const max = clampRetries(f.maxRetries)
  if (f.kind === 'lost') {
    if (f.lostUsed < f.lostBudget)
      return {
        action: 'retry',
        budget: 'lost',
        delayMs: 0,
        reason: `lost (${f.reason}): new attempt`,
      }
    if (f.retriesUsed < max)
      return {
        action: 'retry',
        budget: 'stage',
        delayMs: retryDelayMs(f.retriesUsed + 1, o.baseMs, o.capMs),
        reason: `lost (${f.reason}): retry ${f.retriesUsed + 1} of ${max}`,
      }
    return { action: 'fail', reason: `lost: ${f.reason}` }
  }
  if (f.retriesUsed < max)
    return {
      action: 'retry',
      budget: 'stage',
      delayMs: retryDelayMs(f.retriesUsed + 1, o.baseMs, o.capMs),
      reason: `retry ${f.retriesUsed + 1} of ${max} after: ${f.reason}`,
    }
  return { action: 'fail', reason: f.reason }
}
