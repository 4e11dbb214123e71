/**
 * The one place numbers become text for people: sizes and elapsed times. Pure and browser-safe
 * (the run page, the CLI and the server's messages all use it, so they print the same thing).
 */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const

/**
 * A size in binary units: 4294967296 -> "4 GiB", 1536 -> "1.5 KiB"; "–" for no value.
 * `oneDecimal`: always one decimal above bytes ("1.0 MiB"), for two sizes compared in one message
 * (1 MiB + 1 byte against 1 MiB would otherwise read "1 MiB" against "1 MiB").
 */
export function formatBytes(bytes: number | null | undefined, opts: { oneDecimal?: boolean } = {}): string {
  if (bytes == null || !Number.isFinite(bytes) || bytes < 0) return '–'
  let v = bytes
  let i = 0
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024
    i++
  }
  let txt = String(v)
  if (i > 0 && opts.oneDecimal) txt = v.toFixed(1)
  else if (!Number.isInteger(v)) txt = v.toFixed(1).replace(/\.0$/, '')
  return `${txt} ${BYTE_UNITS[i]}`
}

/** An elapsed time given in milliseconds: "850 ms", "1.2 s", "42 s", "3 min 04 s", "2 h 05 min"; "–" for no value. */
export function formatElapsed(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '–'
  const t = Math.max(0, ms)
  if (t < 1000) return `${Math.round(t)} ms`
  const s = t / 1000
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`
  const m = Math.floor(s / 60)
  const rs = Math.floor(s - m * 60)
  if (m < 60) return `${m} min ${String(rs).padStart(2, '0')} s`
  const h = Math.floor(m / 60)
  return `${h} h ${String(m - h * 60).padStart(2, '0')} min`
}

/**
 * A duration given in seconds, in the workflow's own syntax (what `timeout:` accepts, see
 * server/workflow/units.ts): 5400 -> "1h30m", 86405 -> "1d5s", 0 -> "0s"; "-" for no value.
 */
export function formatDurationSpec(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '-'
  let s = Math.round(seconds)
  if (s === 0) return '0s'
  const parts: string[] = []
  const d = Math.floor(s / 86400)
  s -= d * 86400
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  if (d) parts.push(`${d}d`)
  if (h) parts.push(`${h}h`)
  if (m) parts.push(`${m}m`)
  if (s) parts.push(`${s}s`)
  return parts.join('')
}

/**
 * A memory size given in MiB, written the way workflows write it (`memory: 64GB`, binary units):
 * 65536 -> "64 GB", 7812 -> "7.6 GB", 512 -> "512 MB", 2 TiB -> "2.0 TB". For what a workflow asks
 * and what a site offers; measured sizes (a log, a file) use formatBytes.
 */
export function formatMiB(mib: number): string {
  if (mib >= 1024 * 1024) return `${(mib / 1024 / 1024).toFixed(1)} TB`
  if (mib >= 1024) {
    const gb = mib / 1024
    return `${Number.isInteger(gb) ? gb : gb.toFixed(1)} GB`
  }
  return `${mib} MB`
}
