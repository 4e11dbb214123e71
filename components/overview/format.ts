/** Small formatters of the overview (pure). */

/** "3 h 12 min", "45 min", "expired" */
export function formatTimeLeft(seconds: number | null, expired: boolean): string {
  if (expired) return 'expired'
  if (seconds === null) return 'does not expire'
  if (seconds < 60) return `${Math.max(0, Math.floor(seconds))} s left`
  const d = Math.floor(seconds / 86400)
  const h = Math.floor((seconds % 86400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  if (d > 0) return `${d} d ${h} h left`
  if (h > 0) return `${h} h ${m} min left`
  return `${m} min left`
}

/** how a failed task ended: "exit code 3", "killed by SIGKILL", or its reason */
export function describeExit(t: { exitCode: number | null; signal: string | null; reason: string | null }): string {
  const parts: string[] = []
  if (t.signal) parts.push(`signal ${t.signal}`)
  else if (t.exitCode !== null) parts.push(`exit code ${t.exitCode}`)
  // the engine's reason often repeats the exit ("exit code 3"): say it once
  if (t.reason && !parts.some((x) => t.reason!.includes(x))) parts.push(t.reason)
  return parts.join(': ') || t.reason || 'failed'
}

export function percent(part: number, total: number): number {
  return total > 0 ? Math.round((100 * part) / total) : 0
}
