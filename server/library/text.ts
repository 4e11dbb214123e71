/**
 * Checks on workflow text before anything is written: size, UTF-8, no NUL / binary bytes.
 */
import { DomainError, badInput } from '../errors.ts'
import { formatBytes } from '../format.ts'

/** Largest workflow accepted (UTF-8 bytes). */
export const MAX_YAML_BYTES = 1024 * 1024

/** sizes in the refusals, one decimal each: "3.0 MiB; the limit is 1.0 MiB" */
const size = (n: number) => formatBytes(n, { oneDecimal: true })

function lineCol(text: string, index: number): string {
  let line = 1
  let last = -1
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++, (last = i)
  return `line ${line}, column ${index - last}`
}

// C0 controls other than tab, LF, CR, and DEL: not allowed in YAML, a sign of binary content.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const CONTROL = /[\x01-\x08\x0B\x0C\x0E-\x1F\x7F]/

/**
 * Returns the text to store (a leading BOM removed) or throws BAD_INPUT / TOO_LARGE with a clear
 * message. `what` names the input in messages ("the workflow", "file x.yaml").
 */
export function checkWorkflowText(input: unknown, what = 'the workflow'): string {
  if (typeof input !== 'string')
    throw badInput(
      `${what} must be YAML text (a string), got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`,
    )
  let text: string = input
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > MAX_YAML_BYTES) {
    throw new DomainError(
      'TOO_LARGE',
      `${what} is ${size(bytes)}; the limit is ${size(MAX_YAML_BYTES)}. Keep data out of the workflow: refer to files instead.`,
      { bytes, limit: MAX_YAML_BYTES },
    )
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  const nul = text.indexOf('\u0000')
  if (nul >= 0)
    throw badInput(`${what} contains a NUL byte at ${lineCol(text, nul)}: it looks like a binary file, not YAML text`)
  const ctl = CONTROL.exec(text)
  if (ctl) {
    const code = ctl[0].charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()
    throw badInput(
      `${what} contains the control character 0x${code} at ${lineCol(text, ctl.index)}: it looks like a binary file, not YAML text`,
    )
  }
  if (LONE_SURROGATE.test(text)) throw badInput(`${what} is not valid Unicode text (an unpaired surrogate)`)
  if (!text.trim()) throw badInput(`${what} is empty`)
  return text
}

/** Decodes an uploaded file: size limit, strict UTF-8, then the text checks. */
export function decodeWorkflowFile(bytes: Uint8Array, fileName: string): string {
  const what = `file ${fileName}`
  if (bytes.byteLength > MAX_YAML_BYTES) {
    throw new DomainError('TOO_LARGE', `${what} is ${size(bytes.byteLength)}; the limit is ${size(MAX_YAML_BYTES)}`, {
      bytes: bytes.byteLength,
      limit: MAX_YAML_BYTES,
    })
  }
  if (bytes.indexOf(0) >= 0) throw badInput(`${what} contains NUL bytes: it is a binary file, not YAML text`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw badInput(`${what} is not UTF-8 text (save it as UTF-8 and import again)`)
  }
  return checkWorkflowText(text, what)
}

export function checkName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string') throw badInput(`${what} must be a string`)
  const n = name.replace(/\s+/g, ' ').trim()
  if (!n) throw badInput(`${what} must not be empty`)
  if (n.length > 200) throw badInput(`${what} is ${n.length} characters; the limit is 200`)
  if (/[\x00-\x1F\x7F]/.test(n)) throw badInput(`${what} must not contain control characters`)
  return n
}
