/** The small statistics and machine facts the benches print beside their figures. */
import os from 'node:os'

/** the middle value (the mean of the two middle ones for an even count); NaN for none */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  if (s.length === 0) return Number.NaN
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** the 1, 5 and 15 minute load averages, as "0.52 0.61 0.70" */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
}
