/**
 * SHA-256 of a plan's canonical JSON with the platform's native digest (the composer's worker: ~5 ms
 * for a 2,000-stage plan, where the compiler's pure-JS one takes ~100 ms in a browser). The text is
 * written as UTF-8 into one buffer reused from call to call: `TextEncoder.encode` allocated and
 * zeroed a fresh megabyte per keystroke. `digest` copies its input when called, so the buffer is
 * free again as soon as it returns its promise.
 */
const encoder = new TextEncoder()
let bytes: Uint8Array<ArrayBuffer> = new Uint8Array(1 << 16)

function utf8(text: string): Uint8Array<ArrayBuffer> {
  // at most 3 bytes per UTF-16 code unit
  if (bytes.length < text.length * 3) bytes = new Uint8Array(text.length * 3)
  const { written } = encoder.encodeInto(text, bytes)
  return bytes.subarray(0, written)
}

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('')

/** Lowercase hex SHA-256 of the UTF-8 text, or null where there is no native digest. */
export function nativeSha256Hex(text: string): Promise<string> | null {
  const subtle = globalThis.crypto?.subtle
  if (!subtle) return null
  return subtle.digest('SHA-256', utf8(text)).then(hex)
}
