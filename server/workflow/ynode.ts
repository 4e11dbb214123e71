/**
 * A light YAML node tree with source ranges, and a fast parser for the common subset of YAML
 * that workflow files use.
 *
 * Why: the `yaml` package (full YAML 1.2, exact errors) needs ~20-30 ms for a 500-stage workflow on
 * our machines, more than the editor's per-keystroke budget. `fastParse` handles the plain subset
 * (block maps and sequences, single-line flow collections, single-line plain and quoted scalars,
 * comments) in one pass and BAILS OUT (returns null) on anything else: tabs, CR, anchors/aliases,
 * tags, block scalars (| >), multi-line scalars or flow collections, complex or merge keys,
 * duplicate keys, directives, multiple documents, any syntax error. The compiler then falls back to
 * the `yaml` package, converted to the same tree by `fromYamlDocument`, so results never depend on
 * which path ran (a differential test checks values and ranges against the `yaml` package).
 *
 * Ranges: scalars span their text (quotes included); flow collections span their brackets; block
 * collections span from their first item to the end of their last value (comments excluded).
 * An empty value is a zero-width null scalar just after its ':' or '-'.
 */
import { isAlias, isMap, isPair, isScalar, isSeq } from 'yaml'
import type { Alias, Document } from 'yaml'

export interface YScalar {
  kind: 'scalar'
  start: number
  end: number
  value: unknown
}
export interface YPair {
  key: YScalar
  value: YNode
}
export interface YMap {
  kind: 'map'
  start: number
  end: number
  flow: boolean
  pairs: YPair[]
}
export interface YSeq {
  kind: 'seq'
  start: number
  end: number
  flow: boolean
  items: YNode[]
}
export type YNode = YScalar | YMap | YSeq

// ---- conversion from the yaml package ----------------------------------------------------------

/** Convert a parsed `yaml` Document to a YNode tree (aliases resolved; shared nodes converted once). */
export function fromYamlDocument(doc: Document.Parsed): YNode | null {
  const cache = new Map<unknown, YNode>()
  const inProgress = new Set<unknown>()
  const conv = (n: unknown, fallbackPos: number): YNode => {
    if (n === null || n === undefined) return { kind: 'scalar', start: fallbackPos, end: fallbackPos, value: null }
    let node = n as { range?: [number, number, number] }
    if (isAlias(node)) {
      const target = node.resolve(doc)
      const r = node.range ?? [fallbackPos, fallbackPos, fallbackPos]
      if (!target || inProgress.has(target)) return { kind: 'scalar', start: r[0], end: r[1], value: null }
      node = target as unknown as typeof node
    }
    const cached = cache.get(node)
    if (cached) return cached
    const r = node.range ?? [fallbackPos, fallbackPos, fallbackPos]
    let out: YNode
    inProgress.add(node)
    if (isMap(node)) {
      const flow = !!node.flow
      const m: YMap = { kind: 'map', start: r[0], end: r[1], flow, pairs: [] }
      for (const p of node.items) {
        if (!isPair(p)) continue
        const k = p.key as { range?: [number, number, number] } | null
        const kr = k?.range ?? [r[0], r[0], r[0]]
        const key: YScalar = {
          kind: 'scalar',
          start: kr[0],
          end: kr[1],
          value: k && isScalar(k) ? k.value : undefined,
        }
        const value = conv(p.value, kr[1] + 1)
        m.pairs.push({ key, value })
      }
      if (!flow && m.pairs.length) {
        const last = m.pairs[m.pairs.length - 1]
        m.end = Math.max(last!.key.end, last!.value.end)
      }
      out = m
    } else if (isSeq(node)) {
      const flow = !!node.flow
      const s: YSeq = { kind: 'seq', start: r[0], end: r[1], flow, items: [] }
      let pos = r[0] + 1
      for (const it of node.items) {
        const c = conv(it, pos)
        s.items.push(c)
        pos = c.end + 1
      }
      if (!flow && s.items.length) s.end = s.items[s.items.length - 1]!.end
      out = s
    } else if (isScalar(node)) {
      out = { kind: 'scalar', start: r[0], end: r[1], value: node.value }
    } else {
      out = { kind: 'scalar', start: r[0], end: r[1], value: undefined }
    }
    inProgress.delete(node)
    cache.set(node, out)
    return out
  }
  const contents = doc.contents
  if (contents === null || contents === undefined) return null
  return conv(contents, 0)
}

// ---- fast parser -------------------------------------------------------------------------------

const BAIL = Symbol('bail')

function bail(): never {
  throw BAIL
}

const RE_NULL = /^(?:~|[Nn]ull|NULL)?$/
const RE_BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/
const RE_OCT = /^0o[0-7]+$/
const RE_INT = /^[-+]?[0-9]+$/
const RE_HEX = /^0x[0-9a-fA-F]+$/
const RE_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/
const RE_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/
const RE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/

/** Resolve a plain scalar with the YAML 1.2 core schema, exactly like the `yaml` package. */
export function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0)
  // fast path: most scalars are words
  if (
    !(c >= 48 && c <= 57) &&
    c !== 45 &&
    c !== 43 &&
    c !== 46 &&
    c !== 126 &&
    c !== 110 &&
    c !== 78 &&
    c !== 116 &&
    c !== 84 &&
    c !== 102 &&
    c !== 70 &&
    s !== ''
  ) {
    return s
  }
  if (RE_NULL.test(s)) return null
  if (RE_BOOL.test(s)) return s[0] === 't' || s[0] === 'T'
  if (RE_OCT.test(s)) return parseInt(s.substring(2), 8)
  if (RE_INT.test(s)) return parseInt(s, 10)
  if (RE_HEX.test(s)) return parseInt(s.substring(2), 16)
  if (RE_NAN.test(s)) return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity
  if (RE_EXP.test(s)) return parseFloat(s)
  if (RE_FLOAT.test(s)) return parseFloat(s)
  return s
}

const SP = 32
const HASH = 35
const COLON = 58
const DASH = 45

/** Characters that may not start a plain scalar (or that we leave to the full parser). */
function badPlainStart(src: string, p: number, flow: boolean): boolean {
  const c = src[p]
  switch (c) {
    case '&':
    case '*':
    case '!':
    case '|':
    case '>':
    case '%':
    case '@':
    case '`':
    case '#':
    case '[':
    case ']':
    case '{':
    case '}':
    case ',':
    case '"':
    case "'":
      return true
    case '-':
    case '?':
    case ':': {
      const n = src.charCodeAt(p + 1)
      return (
        n === SP ||
        n === 10 ||
        Number.isNaN(n) ||
        (flow && (n === 44 || n === 91 || n === 93 || n === 123 || n === 125))
      )
    }
    default:
      return false
  }
}

export interface FastParseResult {
  root: YNode | null
  value: unknown
}

/**
 * Parse the common subset of YAML. Returns null when the text needs the full parser.
 */
export function fastParse(src: string): FastParseResult | null {
  if (src.indexOf('\t') >= 0 || src.indexOf('\r') >= 0 || src.charCodeAt(0) === 0xfeff) return null
  try {
    return new FastParser(src).parse()
  } catch (e) {
    if (e === BAIL) return null
    throw e
  }
}

class FastParser {
  private readonly src: string
  private readonly n: number
  /** start offset of each line */
  private readonly lineStart: number[] = []
  /** end offset of each line (exclusive, before '\n') */
  private readonly lineEnd: number[] = []
  /** indentation (spaces) of each line, or -1 for blank / comment-only lines */
  private readonly indent: number[] = []
  private li = 0

  constructor(src: string) {
    this.src = src
    this.n = src.length
    let s = 0
    for (;;) {
      let e = src.indexOf('\n', s)
      if (e < 0) e = src.length
      this.lineStart.push(s)
      this.lineEnd.push(e)
      let p = s
      while (p < e && src.charCodeAt(p) === SP) p++
      this.indent.push(p === e || src.charCodeAt(p) === HASH ? -1 : p - s)
      if (e >= src.length) break
      s = e + 1
    }
  }

  parse(): FastParseResult {
    const L = this.lineStart.length
    for (let i = 0; i < L; i++) {
      if (this.indent[i]! < 0) {
        // a directive or document marker only counts at column 0; '#' lines are comments
        continue
      }
      const s = this.lineStart[i]
      if (this.indent[i] === 0) {
        const c = this.src[s!]
        if (c === '%') bail()
        if (
          (this.src.startsWith('---', s) || this.src.startsWith('...', s)) &&
          (s! + 3 >= this.lineEnd[i]! || this.src.charCodeAt(s! + 3) === SP)
        )
          bail()
      }
    }
    this.li = 0
    this.skipBlank()
    if (this.li >= L) return { root: null, value: null }
    const ind = this.indent[this.li]
    const col = this.lineStart[this.li]! + ind!
    const c = this.src[col]
    if (c !== '-' && !this.lineHasKey(col, this.lineEnd[this.li]!)) bail() // a bare scalar document
    const out = this.block(ind!)
    this.skipBlank()
    if (this.li < L) bail()
    return { root: out.node, value: out.value }
  }

  private skipBlank() {
    const L = this.indent.length
    while (this.li < L && this.indent[this.li]! < 0) this.li++
  }

  /** Parse the block node starting on the current line at indentation `ind`. */
  private block(ind: number): { node: YNode; value: unknown } {
    const s = this.lineStart[this.li]! + ind
    const src = this.src
    if (src.charCodeAt(s) === DASH) {
      const nx = src.charCodeAt(s + 1)
      if (nx === SP || s + 1 >= this.lineEnd[this.li]!) return this.blockSeq(ind)
    }
    if (this.lineHasKey(s, this.lineEnd[this.li]!)) return this.blockMap(ind, s)
    // a scalar or flow collection alone on its line
    const r = this.inline(s, this.lineEnd[this.li]!)
    this.li++
    this.skipBlank()
    return r
  }

  /** Does the text from p to e hold `key:` (a mapping entry)? */
  private lineHasKey(p: number, e: number): boolean {
    const src = this.src
    const c = src[p]
    if (c === '"' || c === "'") {
      const q = this.quotedEnd(p, e)
      if (q < 0) return false
      let k = q
      while (k < e && src.charCodeAt(k) === SP) k++
      return src.charCodeAt(k) === COLON && (k + 1 >= e || src.charCodeAt(k + 1) === SP)
    }
    if (c === '[' || c === '{') return false
    for (let k = p; k < e; k++) {
      const ch = src.charCodeAt(k)
      if (ch === COLON && (k + 1 >= e || src.charCodeAt(k + 1) === SP)) return true
      if (ch === HASH && k > p && src.charCodeAt(k - 1) === SP) return false
    }
    return false
  }

  /** Offset just after the closing quote of a quoted scalar starting at p, or -1. */
  private quotedEnd(p: number, e: number): number {
    const src = this.src
    const q = src[p]
    for (let k = p + 1; k < e; k++) {
      const ch = src[k]
      if (q === '"' && ch === '\\') {
        k++
        continue
      }
      if (ch === q) {
        if (q === "'" && src[k + 1] === "'") {
          k++
          continue
        }
        return k + 1
      }
    }
    return -1
  }

  private blockMap(ind: number, firstKeyAt: number): { node: YMap; value: Record<string, unknown> } {
    const src = this.src
    const map: YMap = { kind: 'map', start: firstKeyAt, end: firstKeyAt, flow: false, pairs: [] }
    const value: Record<string, unknown> = {}
    const seen = new Set<string>()
    let keyAt = firstKeyAt
    const L = this.indent.length
    for (;;) {
      const e = this.lineEnd[this.li]
      // key
      let key: YScalar
      let k: number
      const c = src[keyAt]
      if (c === '"' || c === "'") {
        const q = this.quotedEnd(keyAt, e!)
        if (q < 0) bail()
        key = { kind: 'scalar', start: keyAt, end: q, value: this.unquote(keyAt, q) }
        if (key.value === '__proto__') bail()
        k = q
        while (k < e! && src.charCodeAt(k) === SP) k++
        if (src.charCodeAt(k) !== COLON) bail()
      } else {
        if (badPlainStart(src, keyAt, false)) bail()
        k = keyAt
        for (;;) {
          if (k >= e!) bail()
          const ch = src.charCodeAt(k)
          if (ch === COLON && (k + 1 >= e! || src.charCodeAt(k + 1) === SP)) break
          if (ch === HASH && src.charCodeAt(k - 1) === SP) bail()
          k++
        }
        let ke = k
        while (ke > keyAt && src.charCodeAt(ke - 1) === SP) ke--
        const text = src.slice(keyAt, ke)
        const v = resolvePlain(text)
        if (typeof v !== 'string' || text === '<<' || v === '__proto__') bail()
        key = { kind: 'scalar', start: keyAt, end: ke, value: v }
      }
      const ks = key.value as string
      if (seen.has(ks)) bail()
      seen.add(ks)
      // value
      const afterColon = k + 1
      let p = afterColon
      while (p < e! && src.charCodeAt(p) === SP) p++
      let vnode: YNode
      let vval: unknown
      if (p >= e! || (src.charCodeAt(p) === HASH && p > afterColon)) {
        // value on the following lines (or empty)
        this.li++
        this.skipBlank()
        if (this.li < L && this.indent[this.li]! > ind) {
          const r = this.block(this.indent[this.li]!)
          vnode = r.node
          vval = r.value
        } else if (this.li < L && this.indent[this.li] === ind && this.isSeqLine(this.li, ind)) {
          const r = this.blockSeq(ind)
          vnode = r.node
          vval = r.value
        } else {
          vnode = { kind: 'scalar', start: p, end: p, value: null }
          vval = null
        }
      } else if (src[p] === '|') {
        const r = this.literal(p, e!, ind)
        vnode = r.node
        vval = r.value
        this.skipBlank()
        if (this.li < L && this.indent[this.li]! > ind) bail()
      } else {
        if (src.charCodeAt(p) === HASH) bail()
        const r = this.inline(p, e!)
        vnode = r.node
        vval = r.value
        this.li++
        this.skipBlank()
        if (this.li < L && this.indent[this.li]! > ind) bail() // continuation lines
      }
      map.pairs.push({ key, value: vnode })
      value[ks] = vval
      map.end = Math.max(vnode.end, key.end)
      // next pair?
      if (this.li >= L || this.indent[this.li]! < ind) break
      if (this.indent[this.li]! > ind) bail()
      keyAt = this.lineStart[this.li]! + ind
      if (this.isSeqLine(this.li, ind)) bail() // '- ' where a key is expected
      if (!this.lineHasKey(keyAt, this.lineEnd[this.li]!)) bail()
    }
    return { node: map, value }
  }

  private isSeqLine(li: number, ind: number): boolean {
    const s = this.lineStart[li]! + ind
    if (this.src.charCodeAt(s) !== DASH) return false
    return s + 1 >= this.lineEnd[li]! || this.src.charCodeAt(s + 1) === SP
  }

  private blockSeq(ind: number): { node: YSeq; value: unknown[] } {
    const src = this.src
    const L = this.indent.length
    const first = this.lineStart[this.li]! + ind
    const seq: YSeq = { kind: 'seq', start: first, end: first, flow: false, items: [] }
    const value: unknown[] = []
    for (;;) {
      const dash = this.lineStart[this.li]! + ind
      const e = this.lineEnd[this.li]
      let p = dash + 1
      while (p < e! && src.charCodeAt(p) === SP) p++
      let node: YNode
      let v: unknown
      if (p >= e! || (src.charCodeAt(p) === HASH && p > dash + 1)) {
        this.li++
        this.skipBlank()
        if (this.li < L && this.indent[this.li]! > ind) {
          const r = this.block(this.indent[this.li]!)
          node = r.node
          v = r.value
        } else {
          node = { kind: 'scalar', start: p, end: p, value: null }
          v = null
        }
      } else if (src.charCodeAt(p) === DASH && (p + 1 >= e! || src.charCodeAt(p + 1) === SP)) {
        bail() // compact nested sequence
      } else if (src[p] === '|') {
        const r = this.literal(p, e!, ind)
        node = r.node
        v = r.value
        this.skipBlank()
        if (this.li < L && this.indent[this.li]! > ind) bail()
      } else if (this.lineHasKey(p, e!)) {
        // compact mapping: `- key: value` with more keys aligned below
        const col = p - this.lineStart[this.li]!
        const r = this.blockMap(col, p)
        node = r.node
        v = r.value
      } else {
        const r = this.inline(p, e!)
        node = r.node
        v = r.value
        this.li++
        this.skipBlank()
        if (this.li < L && this.indent[this.li]! > ind) bail()
      }
      seq.items.push(node)
      value.push(v)
      seq.end = node.end > dash ? node.end : dash + 1
      if (this.li >= L || this.indent[this.li]! < ind) break
      if (this.indent[this.li]! > ind) bail()
      if (!this.isSeqLine(this.li, ind)) break // the next key of a parent map at the same indentation
    }
    return { node: seq, value }
  }

  /**
   * A literal block scalar (`|` or `|-`) whose header is at p on the current line; `n` is the
   * indentation of the parent collection. Leaves `li` on the first line after the scalar.
   * Folded scalars, keep chomping, indentation indicators and unusual blank lines bail out.
   */
  private literal(p: number, e: number, n: number): { node: YScalar; value: string } {
    const src = this.src
    let k = p + 1
    let strip = false
    if (src[k] === '-') {
      strip = true
      k++
    }
    const h = k
    while (k < e && src.charCodeAt(k) === SP) k++
    if (k < e && !(src.charCodeAt(k) === HASH && k > h)) bail() // '+', digits, other text
    const L = this.lineStart.length
    let li = this.li + 1
    // content indentation: the first line with a non-space character
    let m = -1
    let maxLeadingBlank = 0
    for (let j = li; j < L; j++) {
      const s0 = this.lineStart[j]
      const e0 = this.lineEnd[j]
      let q = s0
      while (q! < e0! && src.charCodeAt(q!) === SP) q!++
      if (q! < e0!) {
        m = q! - s0!
        break
      }
      if (e0! - s0! > maxLeadingBlank) maxLeadingBlank = e0! - s0!
    }
    const lines: string[] = []
    let lastContent = -1 // index in `lines` of the last line with content
    let end = this.lineEnd[this.li]! + 1 // after the header line
    if (m > n) {
      if (maxLeadingBlank > m) bail()
      for (; li < L; li++) {
        const s0 = this.lineStart[li]
        const e0 = this.lineEnd[li]
        let q = s0
        while (q! < e0! && src.charCodeAt(q!) === SP) q!++
        const blank = q === e0
        if (!blank && q! - s0! < m) {
          if (q! - s0! > n || src.charCodeAt(q!) === HASH) bail()
          break
        }
        if (blank && e0! - s0! <= m) {
          lines.push('')
          continue
        }
        lines.push(src.slice(s0! + m, e0))
        lastContent = lines.length - 1
        end = e0! + 1
      }
    } else {
      // empty scalar: the next non-blank line is not indented enough
      for (; li < L; li++) {
        const s0 = this.lineStart[li]
        const e0 = this.lineEnd[li]
        let q = s0
        while (q! < e0! && src.charCodeAt(q!) === SP) q!++
        if (q! < e0!) break
        if (e0! - s0! > n) bail()
        end = e0! + 1 // the yaml package counts blank lines into an empty block scalar
      }
    }
    if (end > this.n) {
      // the scalar runs to the end of a text without a final newline
      bail()
    }
    this.li = li
    const body = lastContent >= 0 ? lines.slice(0, lastContent + 1).join('\n') : ''
    const value = lastContent < 0 ? '' : strip ? body : body + '\n'
    return { node: { kind: 'scalar', start: p, end, value }, value }
  }

  /** A scalar or flow collection from p; the rest of the line must be blank or a comment. */
  private inline(p: number, e: number): { node: YNode; value: unknown } {
    const src = this.src
    const c = src[p]
    let r: { node: YNode; value: unknown; end: number }
    if (c === '"' || c === "'") {
      const q = this.quotedEnd(p, e)
      if (q < 0) bail()
      const v = this.unquote(p, q)
      r = { node: { kind: 'scalar', start: p, end: q, value: v }, value: v, end: q }
    } else if (c === '[' || c === '{') {
      r = this.flow(p, e)
    } else {
      if (badPlainStart(src, p, false)) bail()
      let k = p
      while (k < e) {
        const ch = src.charCodeAt(k)
        if (ch === HASH && src.charCodeAt(k - 1) === SP) break
        if (ch === COLON && (k + 1 >= e || src.charCodeAt(k + 1) === SP)) bail()
        k++
      }
      let ke = k
      while (ke > p && src.charCodeAt(ke - 1) === SP) ke--
      const v = resolvePlain(src.slice(p, ke))
      return { node: { kind: 'scalar', start: p, end: ke, value: v }, value: v }
    }
    // after a quoted scalar or a flow collection: only spaces and a comment
    let k = r.end
    while (k < e && src.charCodeAt(k) === SP) k++
    if (k < e && !(src.charCodeAt(k) === HASH && k > r.end)) bail()
    return { node: r.node, value: r.value }
  }

  private unquote(p: number, q: number): string {
    const src = this.src
    const body = src.slice(p + 1, q - 1)
    if (src[p] === "'") return body.indexOf("'") >= 0 ? body.replace(/''/g, "'") : body
    if (body.indexOf('\\') < 0) return body
    let out = ''
    for (let i = 0; i < body.length; i++) {
      const ch = body[i]
      if (ch !== '\\') {
        out += ch
        continue
      }
      const nx = body[++i]
      switch (nx) {
        case '\\':
          out += '\\'
          break
        case '"':
          out += '"'
          break
        case '/':
          out += '/'
          break
        case 'n':
          out += '\n'
          break
        case 't':
          out += '\t'
          break
        case 'r':
          out += '\r'
          break
        case '0':
          out += '\0'
          break
        case 'b':
          out += '\b'
          break
        case 'f':
          out += '\f'
          break
        case 'u': {
          const hex = body.slice(i + 1, i + 5)
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) bail()
          const code = parseInt(hex, 16)
          if (code >= 0xd800 && code <= 0xdfff) bail()
          out += String.fromCharCode(code)
          i += 4
          break
        }
        default:
          bail()
      }
    }
    return out
  }

  /** Single-line flow collection starting at p ('[' or '{'). */
  private flow(p: number, e: number): { node: YNode; value: unknown; end: number } {
    const src = this.src
    const skip = (k: number) => {
      while (k < e && src.charCodeAt(k) === SP) k++
      return k
    }
    const item = (k: number): { node: YNode; value: unknown; end: number } => {
      const c = src[k]
      if (c === '[' || c === '{') return this.flow(k, e)
      if (c === '"' || c === "'") {
        const q = this.quotedEnd(k, e)
        if (q < 0) bail()
        const v = this.unquote(k, q)
        return { node: { kind: 'scalar', start: k, end: q, value: v }, value: v, end: q }
      }
      if (badPlainStart(src, k, true)) bail()
      let j = k
      while (j < e) {
        const ch = src.charCodeAt(j)
        if (ch === 44 || ch === 91 || ch === 93 || ch === 123 || ch === 125) break
        if (ch === COLON) {
          const nx = src.charCodeAt(j + 1)
          if (j + 1 >= e || nx === SP || nx === 44 || nx === 93 || nx === 125 || nx === 91 || nx === 123) break
        }
        if (ch === HASH && src.charCodeAt(j - 1) === SP) bail()
        j++
      }
      let je = j
      while (je > k && src.charCodeAt(je - 1) === SP) je--
      if (je === k) bail()
      const v = resolvePlain(src.slice(k, je))
      return { node: { kind: 'scalar', start: k, end: je, value: v }, value: v, end: je }
    }
    if (src[p] === '[') {
      const seq: YSeq = { kind: 'seq', start: p, end: p, flow: true, items: [] }
      const value: unknown[] = []
      let k = skip(p + 1)
      if (src[k] === ']') {
        seq.end = k + 1
        return { node: seq, value, end: k + 1 }
      }
      for (;;) {
        if (k >= e) bail()
        const r = item(k)
        seq.items.push(r.node)
        value.push(r.value)
        k = skip(r.end)
        if (src[k] === ',') {
          k = skip(k + 1)
          if (src[k] === ']' || k >= e) bail() // trailing comma: leave to the full parser
          continue
        }
        if (src[k] === ']') {
          seq.end = k + 1
          return { node: seq, value, end: k + 1 }
        }
        bail()
      }
    }
    const map: YMap = { kind: 'map', start: p, end: p, flow: true, pairs: [] }
    const value: Record<string, unknown> = {}
    const seen = new Set<string>()
    let k = skip(p + 1)
    if (src[k] === '}') {
      map.end = k + 1
      return { node: map, value, end: k + 1 }
    }
    for (;;) {
      if (k >= e) bail()
      const c = src[k]
      if (c === '[' || c === '{') bail()
      const kr = item(k)
      if (kr.node.kind !== 'scalar' || typeof kr.value !== 'string' || kr.value === '<<' || kr.value === '__proto__')
        bail()
      const ks = kr.value as string
      if (seen.has(ks)) bail()
      seen.add(ks)
      k = skip(kr.end)
      if (src.charCodeAt(k) !== COLON) bail()
      const after = k + 1
      if (after < e && src.charCodeAt(after) !== SP) bail()
      k = skip(after)
      if (k >= e || src[k] === ',' || src[k] === '}') bail() // empty value: leave to the full parser
      const vr = item(k)
      map.pairs.push({ key: kr.node as YScalar, value: vr.node })
      value[ks] = vr.value
      k = skip(vr.end)
      if (src[k] === ',') {
        k = skip(k + 1)
        if (src[k] === '}' || k >= e) bail()
        continue
      }
      if (src[k] === '}') {
        map.end = k + 1
        return { node: map, value, end: k + 1 }
      }
      bail()
    }
  }
}

// ---- alias expansion (billion-laughs guard) -----------------------------------------------------

/**
 * How many nodes the document has once every alias is expanded (as `toJS` and the compiler see
 * it), counted without expanding: each node's size is computed once. Stops counting above `limit`
 * (returns a number > limit). The first alias met is returned to position the error.
 */
export function expandedNodeCount(doc: Document.Parsed, limit: number): { count: number; firstAlias: Alias | null } {
  const sizes = new Map<unknown, number>()
  const inProgress = new Set<unknown>()
  let firstAlias: Alias | null = null
  const size = (n: unknown): number => {
    if (n === null || n === undefined) return 1
    let node = n
    if (isAlias(node)) {
      firstAlias ??= node
      const target = node.resolve(doc)
      if (!target || inProgress.has(target)) return 1
      node = target
    }
    const known = sizes.get(node)
    if (known !== undefined) return known
    inProgress.add(node)
    let total = 1
    if (isMap(node)) {
      for (const p of node.items) {
        if (!isPair(p)) continue
        total += size(p.key) + size(p.value)
        if (total > limit) break
      }
    } else if (isSeq(node)) {
      for (const it of node.items) {
        total += size(it)
        if (total > limit) break
      }
    }
    inProgress.delete(node)
    sizes.set(node, total)
    return total
  }
  return { count: size(doc.contents), firstAlias }
}
