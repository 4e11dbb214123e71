/**
 * A health probe with a hard deadline, for the stream bench (`/api/health` while viewers watch a
 * run) and its tests. Each probe settles by its deadline whatever the HTTP client does: the stream
 * bench once hung for good because one probe's `fetch` (its `AbortSignal.timeout` fired while the
 * response was being read) never settled, with no request left in flight, so the bench waited for it
 * after every viewer already had the run's last event.
 */
import http from 'node:http'

export interface ProbeResult {
  /** from the request to the end of the body, or to the deadline */
  ms: number
  /** a 2xx status and the whole body before the deadline */
  ok: boolean
}

/** one GET to the end of its body: resolves true on 2xx, false on any other status or failure */
export type ProbeGet = (url: string, signal: AbortSignal) => Promise<boolean>

/** the default GET: node:http on its own connection, no shared pool with the viewers' streams */
export const httpGet: ProbeGet = (url, signal) =>
  new Promise((resolve) => {
    const req = http.get(url, { agent: false, signal }, (res) => {
      res.on('data', () => {})
      res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300))
      res.on('error', () => resolve(false))
      res.on('aborted', () => resolve(false))
    })
    req.on('error', () => resolve(false))
  })

/** one probe: settles by `timeoutMs` (as not ok) even if `get` never does */
export function probeOnce(url: string, timeoutMs: number, get: ProbeGet = httpGet): Promise<ProbeResult> {
  const t0 = performance.now()
  const ctrl = new AbortController()
  let timer: ReturnType<typeof setTimeout> | null = null
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => {
      ctrl.abort()
      resolve(false)
    }, timeoutMs)
  })
  const answer = get(url, ctrl.signal).catch(() => false)
  return Promise.race([answer, deadline]).then((ok) => {
    if (timer) clearTimeout(timer)
    return { ms: performance.now() - t0, ok }
  })
}

export interface Prober {
  readonly results: ProbeResult[]
  /** stops probing; resolves once the probe under way settled, so within `timeoutMs` */
  stop(): Promise<void>
}

/** probes `url` every `intervalMs` (after the previous probe settled) until stopped */
export function startProbing(url: string, opts: { intervalMs: number; timeoutMs: number; get?: ProbeGet }): Prober {
  const results: ProbeResult[] = []
  let stopped = false
  let wake: (() => void) | null = null
  const loop = (async () => {
    while (!stopped) {
      results.push(await probeOnce(url, opts.timeoutMs, opts.get))
      if (stopped) break
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, opts.intervalMs)
        wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
      wake = null
    }
  })()
  return {
    results,
    stop() {
      stopped = true
      ;(wake as (() => void) | null)?.()
      return loop
    },
  }
}
