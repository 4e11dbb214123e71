/** Small display helpers of the library pages. */
export function timeAgo(d: Date | string | null | undefined, now = Date.now()): string {
  if (!d) return ''
  const t = typeof d === 'string' ? new Date(d) : d
  const s = Math.round((now - t.getTime()) / 1000)
  if (s < 45) return 'just now'
  if (s < 90) return '1 minute ago'
  const m = Math.round(s / 60)
  if (m < 60) return `${m} minutes ago`
  const h = Math.round(m / 60)
  if (h < 24) return h === 1 ? '1 hour ago' : `${h} hours ago`
  const days = Math.round(h / 24)
  if (days < 30) return days === 1 ? 'yesterday' : `${days} days ago`
  return t.toISOString().slice(0, 10)
}

export function fullTime(d: Date | string | null | undefined): string {
  if (!d) return ''
  const t = typeof d === 'string' ? new Date(d) : d
  return t.toLocaleString()
}

/** Base64 of a file's bytes (the server checks size, UTF-8 and NUL bytes itself). */
export async function fileToBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  let bin = ''
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(bin)
}

export const MAX_IMPORT_BYTES = 1024 * 1024
