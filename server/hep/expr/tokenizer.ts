/** Tokenizer of the expression language (see README.md beside this file). */
import { ExprError } from './errors.ts'

export type TokenType = 'num' | 'ident' | 'str' | 'op' | '(' | ')' | '[' | ']' | ',' | 'eof'

export interface Token {
  type: TokenType
  /** operator text normalised ('&&' -> 'and', '||' -> 'or', '!' -> 'not'), identifier name, string value */
  value: string
  /** numeric value of a 'num' token */
  num?: number
  /** 0-based offsets of the token in the source, end exclusive */
  start: number
  end: number
}

// take the character past the end too (undefined): it is none of these
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9'
const isIdentStart = (c: string | undefined) =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_')
const isIdentChar = (c: string | undefined) => isIdentStart(c) || isDigit(c)

const KEYWORD_OPS: Record<string, string> = { and: 'and', or: 'or', not: 'not' }
const TWO_CHAR_OPS: Record<string, string> = {
  '**': '**',
  '<=': '<=',
  '>=': '>=',
  '==': '==',
  '!=': '!=',
  '&&': 'and',
  '||': 'or',
}
const ONE_CHAR_OPS: Record<string, string> = {
  '+': '+',
  '-': '-',
  '*': '*',
  '/': '/',
  '%': '%',
  '<': '<',
  '>': '>',
  '!': 'not',
}
const HINTS: Record<string, string> = {
  '=': "use '==' to compare",
  '^': "use '**' for powers",
  '&': "use 'and' (or '&&')",
  '|': "use 'or' (or '||')",
  '~': "use 'not'",
  '?': 'use where(condition, a, b)',
  ':': 'use where(condition, a, b)',
  '{': "use '(' and ')' to group",
  '}': "use '(' and ')' to group",
}

export const MAX_EXPRESSION_LENGTH = 10_000

export function tokenize(src: string): Token[] {
  if (typeof src !== 'string') throw new ExprError('syntax', 'expression must be a string', 0, 0)
  if (src.length > MAX_EXPRESSION_LENGTH) {
    throw new ExprError(
      'syntax',
      `expression longer than ${MAX_EXPRESSION_LENGTH} characters`,
      MAX_EXPRESSION_LENGTH,
      0,
    )
  }
  const out: Token[] = []
  let i = 0
  const n = src.length
  for (let c = src[0]; c !== undefined; c = src[i]) {
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
      continue
    }
    const start = i
    // numbers: 12, 1.5, .5, 1e3, 2.5E-3
    if (isDigit(c) || (c === '.' && i + 1 < n && isDigit(src[i + 1]))) {
      while (i < n && isDigit(src[i])) i++
      if (i < n && src[i] === '.') {
        i++
        while (i < n && isDigit(src[i])) i++
      }
      if (i < n && (src[i] === 'e' || src[i] === 'E')) {
        let j = i + 1
        if (j < n && (src[j] === '+' || src[j] === '-')) j++
        if (j < n && isDigit(src[j])) {
          while (j < n && isDigit(src[j])) j++
          i = j
        } else {
          throw new ExprError('syntax', 'malformed number exponent', start, j - start, 'write e.g. 1e3 or 2.5e-2')
        }
      }
      if (i < n && (isIdentChar(src[i]) || src[i] === '.')) {
        let j = i
        while (j < n && (isIdentChar(src[j]) || src[j] === '.')) j++
        throw new ExprError(
          'syntax',
          `unexpected '${src.slice(i, j)}' after number`,
          i,
          j - i,
          "put an operator between them, e.g. '2 * x'",
        )
      }
      const text = src.slice(start, i)
      out.push({ type: 'num', value: text, num: Number(text), start, end: i })
      continue
    }
    if (isIdentStart(c)) {
      while (i < n && (isIdentChar(src[i]) || (src[i] === '.' && i + 1 < n && isIdentStart(src[i + 1])))) i++
      const name = src.slice(start, i)
      const keyword = KEYWORD_OPS[name]
      if (keyword) out.push({ type: 'op', value: keyword, start, end: i })
      else out.push({ type: 'ident', value: name, start, end: i })
      continue
    }
    if (c === '`') {
      const close = src.indexOf('`', i + 1)
      if (close < 0)
        throw new ExprError('syntax', 'unterminated `quoted name`', start, n - start, 'close it with a backtick')
      const name = src.slice(i + 1, close)
      if (!name) throw new ExprError('syntax', 'empty `quoted name`', start, 2)
      i = close + 1
      out.push({ type: 'ident', value: name, start, end: i })
      continue
    }
    if (c === '"' || c === "'") {
      let j = i + 1
      let value = ''
      while (j < n && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < n) {
          const e = src[j + 1]
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e
          j += 2
        } else value += src[j++]
      }
      if (j >= n) throw new ExprError('syntax', 'unterminated string', start, n - start, `close it with ${c}`)
      i = j + 1
      out.push({ type: 'str', value, start, end: i })
      continue
    }
    const two = src.slice(i, i + 2)
    const twoOp = TWO_CHAR_OPS[two]
    if (twoOp) {
      out.push({ type: 'op', value: twoOp, start, end: i + 2 })
      i += 2
      continue
    }
    const oneOp = ONE_CHAR_OPS[c]
    if (oneOp) {
      out.push({ type: 'op', value: oneOp, start, end: i + 1 })
      i++
      continue
    }
    if (c === '(' || c === ')' || c === '[' || c === ']' || c === ',') {
      out.push({ type: c, value: c, start, end: i + 1 })
      i++
      continue
    }
    const cp = src.codePointAt(i) ?? 0
    const ch = String.fromCodePoint(cp)
    throw new ExprError('syntax', `unexpected character '${ch}'`, i, ch.length, HINTS[ch])
  }
  out.push({ type: 'eof', value: '', start: n, end: n })
  return out
}
