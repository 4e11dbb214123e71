/**
 * setTimeout for any delay. Node clamps delays above 2^31-1 ms (24.8 days) to 1 ms, so a
 * `timeout: 25d` would fire at once: longer delays are chained in steps below the limit.
 */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface LongTimer {
  clear(): void
}

export function setLongTimeout(fn: () => void, ms: number, o: { unref?: boolean } = {}): LongTimer {
  let t: NodeJS.Timeout | null = null
  let cleared = false
  const due = Date.now() + Math.max(0, ms)
  const arm = () => {
    if (cleared) return
    const left = due - Date.now()
    if (left <= 0) {
      t = null
      fn()
      return
    }
    t = setTimeout(arm, Math.min(left, MAX_TIMER_MS))
    if (o.unref !== false) t.unref?.()
  }
  arm()
  return {
    clear() {
      cleared = true
      if (t) clearTimeout(t)
    },
  }
}
