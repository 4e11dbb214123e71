/** Helpers for the workflow tests (not part of the public API). */
import type { Problem } from './types.ts'

/** Strip the common indentation of a template literal (first and last blank lines removed). */
export function y(strings: TemplateStringsArray, ...values: unknown[]): string {
  let s = strings.reduce((acc, str, i) => acc + str + (i < values.length ? String(values[i]) : ''), '')
  s = s.replace(/^\n/, '').replace(/\n[ ]*$/, '\n')
  const lines = s.split('\n')
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length))
  return lines.map((l) => l.slice(indent)).join('\n')
}

export function brief(p: Problem): string {
  return `${p.range.start.line}:${p.range.start.col} ${p.severity} ${p.code}`
}

export const EDIT_OPS = ['del', 'dup', 'ins', 'delLine', 'dupLine', 'indent'] as const
export const EDIT_CHUNKS = [
  ' ',
  ':',
  '-',
  '#',
  '"',
  "'",
  '[',
  ']',
  '{',
  '}',
  ',',
  'x',
  '1',
  '\n',
  '  ',
  '- ',
  ': ',
  '.5',
  'null',
  '\\',
  '&a',
  '*a',
  '|',
  '>',
  '?',
  '!',
  '~',
  'true',
  '0x1',
  "''",
  '\t',
]

/** Apply random character / line edits (delete, duplicate, insert, indent) to a text. */
export function applyEdits(text: string, ops: readonly (readonly [number, string, string])[]): string {
  let t = text
  for (const [pos, op, s] of ops) {
    const p = t.length ? pos % t.length : 0
    const lines = t.split('\n')
    const li = lines.length ? pos % lines.length : 0
    switch (op) {
      case 'del':
        t = t.slice(0, p) + t.slice(p + 1 + (pos % 5))
        break
      case 'dup':
        t = t.slice(0, p) + t.slice(p, p + 1 + (pos % 7)) + t.slice(p)
        break
      case 'ins':
        t = t.slice(0, p) + s + t.slice(p)
        break
      case 'delLine':
        lines.splice(li, 1)
        t = lines.join('\n')
        break
      case 'dupLine':
        lines.splice(li, 0, lines[li] ?? '')
        t = lines.join('\n')
        break
      case 'indent':
        lines[li] = s.trim() === '' ? s + (lines[li] ?? '') : '  ' + (lines[li] ?? '')
        t = lines.join('\n')
        break
    }
  }
  return t
}
