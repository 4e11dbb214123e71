/**
 * YAML source handling: parsing with ranges (fast path, else the `yaml` package), path -> node
 * lookup, and the problem collector.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, Scalar, visit } from 'yaml'
import { Document } from 'yaml'
import type { Problem, Severity, SourcePos, SourceRange } from './types.ts'
import type { ProblemCode } from './problem-codes.ts'
import { expandedNodeCount, fastParse, fromYamlDocument } from './ynode.ts'
import type { FastParseResult, YNode, YScalar } from './ynode.ts'

export type Path = (string | number)[]

export interface Located {
  /** deepest node reached */
  node: YNode | null
  /** key node of the last map pair reached, if the last step was a map key */
  key: YScalar | null
  /** true when the whole path was found */
  exact: boolean
}

const YAML_HINTS: Record<string, string> = {
  BAD_INDENT: 'check the indentation: nested keys must be indented more than their parent, with spaces',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MISSING_CHAR: 'a closing quote or bracket is missing',
  BLOCK_AS_IMPLICIT_KEY:
    "a mapping value cannot start on the same line as another key: put it on its own line, or quote the value if it contains ': '",
  MULTILINE_IMPLICIT_KEY: 'keys must fit on one line: check for a missing colon on the previous line',
  UNEXPECTED_TOKEN: 'remove or quote the unexpected character',
  MULTIPLE_DOCS: "a workflow file holds a single YAML document: remove the extra '---'",
  DUPLICATE_KEY: 'each key may appear only once in a mapping: remove or rename one of them',
  IMPOSSIBLE: 'this construct cannot be read: simplify or quote it',
  BAD_SCALAR_START: 'quote the value: plain values cannot start with this character',
  BAD_DIRECTIVE: "remove the '%' directive line",
  KEY_OVER_1024_CHARS: 'shorten the key',
  ALIAS_PROPS: 'an alias cannot have an anchor or tag',
  BAD_ALIAS: 'define the anchor (&name) before using the alias (*name)',
  TAG_RESOLVE_FAILED: 'remove the unknown !tag',
}

const MAX_YAML_ERRORS = 50
/** problems collected per compile: past it, one "more problems not shown" and nothing else */
export const MAX_PROBLEMS = 500
/**
 * nodes the document may have once aliases are expanded (a 1 MiB file has far fewer of its own);
 * beyond it the document is refused before anything expands it (billion laughs)
 */
export const MAX_EXPANDED_NODES = 1_000_000

function yamlHint(code: string, message: string): string {
  if (/without - indicator/.test(message))
    return "this line is indented like a list item but has no '- ': check its indentation"
  if (/Implicit map keys need to be followed by map values/.test(message))
    return "add ': ' after the key, or check the indentation"
  if (/Implicit keys need to be on a single line/.test(message))
    return 'a key must fit on one line: check for a missing colon or quote above'
  if (/must be sufficiently indented|end with a/.test(message))
    return 'close the bracket on the same line, or indent its continuation more than the key'
  if (/Missing closing/.test(message)) return 'add the closing quote'
  return YAML_HINTS[code] ?? 'fix the YAML syntax here'
}

export class SourceContext {
  readonly source: string
  readonly problems: Problem[] = []
  /** the root node (null for an empty document) */
  root: YNode | null = null
  /** the document as plain JS (undefined when it could not be built) */
  value: unknown = undefined
  /** false when the document could not be expanded to a value at all */
  readonly valueOk: boolean
  /** which parser produced the tree */
  readonly parser: 'fast' | 'yaml'
  private lineStarts: number[] | null = null

  /** `parseFast`: the fast path's parser (an incremental one re-reads only what an edit changed) */
  constructor(source: string, parseFast: (source: string) => FastParseResult | null = fastParse) {
    this.source = source
    const fast = parseFast(source)
    if (fast) {
      this.parser = 'fast'
      this.root = fast.root
      this.value = fast.value
      this.valueOk = true
      return
    }
    this.parser = 'yaml'
    // every document is parsed so that a second one is reported, never dropped (a workflow is one)
    const parsed = parseAllDocuments(source, {
      lineCounter: new LineCounter(),
      prettyErrors: false,
      merge: true,
      uniqueKeys: true,
      keepSourceTokens: false,
      logLevel: 'silent',
    })
    const docs = Array.isArray(parsed) ? parsed : []
    // an empty source has no document: an empty one stands in (it parses like `null`)
    const doc = (docs[0] ?? new Document(null)) as Document.Parsed
    this.reportYamlErrors(doc)
    for (const extra of docs.slice(1)) {
      const start = extra.range?.[0] ?? source.length
      const marker = source.lastIndexOf('---', start)
      const at = marker >= 0 ? marker : start
      this.problems.push({
        code: 'multiple-documents',
        hint: "a workflow file holds a single YAML document: merge the documents or remove the extra '---'",
        message: 'a second YAML document starts here; only one workflow per file is read',
        path: [],
        range: this.range(at, Math.min(source.length, at + 3)),
        severity: 'error',
      })
    }
    const expanded = expandedNodeCount(doc, MAX_EXPANDED_NODES)
    if (expanded.count > MAX_EXPANDED_NODES) {
      const r = expanded.firstAlias?.range ?? [0, 0, 0]
      this.problems.push({
        code: 'yaml-alias',
        severity: 'error',
        message: `the aliases expand the document to more than ${MAX_EXPANDED_NODES.toLocaleString('en')} nodes`,
        hint: 'use fewer aliases (*name) or alias smaller nodes',
        range: this.range(r[0], r[1]),
        path: [],
      })
      this.valueOk = false
      this.root = null
      return
    }
    const conv = this.toJS(doc)
    this.valueOk = conv.ok
    if (conv.ok) this.value = conv.value
    this.root = fromYamlDocument(doc)
  }

  pos(offset: number): SourcePos {
    const o = Math.max(0, Math.min(Number.isFinite(offset) ? offset : 0, this.source.length))
    if (!this.lineStarts) {
      const ls = [0]
      const src = this.source
      for (let i = src.indexOf('\n'); i >= 0; i = src.indexOf('\n', i + 1)) ls.push(i + 1)
      this.lineStarts = ls
    }
    const ls = this.lineStarts
    let lo = 0
    let hi = ls.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (ls[mid]! <= o) lo = mid
      else hi = mid - 1
    }
    return { col: o - ls[lo]! + 1, line: lo + 1, offset: o }
  }

  range(start: number, end: number): SourceRange {
    const s = this.pos(start)
    return { end: this.pos(Math.max(start, end)), start: s }
  }

  nodeRange(node: { start: number; end: number } | null | undefined): SourceRange | null {
    if (!node) return null
    return this.range(node.start, node.end)
  }

  /** Head of a node: from its start to the end of its first line (for "missing field" problems). */
  headRange(node: YNode | null | undefined): SourceRange | null {
    if (!node) return null
    const start = node.start
    let end = node.end
    const nl = this.source.indexOf('\n', start)
    if (nl >= 0 && nl < end) end = nl
    return this.range(start, end)
  }

  /** Find the node at a JS path (map keys compared as strings). */
  locate(path: Path, from: YNode | null = this.root): Located {
    let node: YNode | null = from
    let key: YScalar | null = null
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]
      if (node && node.kind === 'map') {
        const want = String(seg)
        let found = null
        const pairs = node.pairs
        // later duplicates win, like the JS value
        for (let j = pairs.length - 1; j >= 0; j--) {
          const kv = pairs[j]!.key.value
          if (kv !== undefined && String(kv) === want) {
            found = pairs[j]
            break
          }
        }
        if (!found) return { node, key, exact: false }
        key = found.key
        node = found.value
      } else if (node && node.kind === 'seq' && typeof seg === 'number') {
        const item = node.items[seg]
        if (item === undefined) return { node, key, exact: false }
        key = null
        node = item
      } else {
        return { node, key, exact: false }
      }
    }
    return { node, key, exact: true }
  }

  /**
   * Best range for a problem at `path`: the key when `at` is 'key' (or when the value is empty),
   * the value otherwise; the head of the closest existing parent when the path does not exist.
   */
  rangeAt(path: Path, at: 'key' | 'value' = 'value'): SourceRange {
    const loc = this.locate(path)
    if (!loc.exact) {
      return this.headRange(loc.node) ?? this.range(0, 0)
    }
    const emptyValue = !loc.node || loc.node.start === loc.node.end
    if ((at === 'key' || emptyValue) && loc.key) return this.nodeRange(loc.key) ?? this.range(0, 0)
    return this.nodeRange(loc.node) ?? this.range(0, 0)
  }

  add(
    code: ProblemCode,
    severity: Severity,
    message: string,
    path: Path,
    opts: { hint?: string; at?: 'key' | 'value'; range?: SourceRange } = {},
  ): Problem {
    const range = opts.range ?? this.rangeAt(path, opts.at)
    if (this.problems.length >= MAX_PROBLEMS) {
      const more: Problem = {
        code: 'too-many-problems',
        message: `more problems follow from here; only the first ${MAX_PROBLEMS} are reported`,
        path: [],
        range,
        severity: 'error',
      }
      if (this.problems.length === MAX_PROBLEMS) this.problems.push(more)
      return more
    }
    // keys in sorted order (canonical plan JSON)
    const p: Problem = opts.hint
      ? { code, hint: opts.hint, message, path: [...path], range, severity }
      : { code, message, path: [...path], range, severity }
    this.problems.push(p)
    return p
  }

  error(
    code: ProblemCode,
    message: string,
    path: Path,
    opts?: { hint?: string; at?: 'key' | 'value'; range?: SourceRange },
  ) {
    return this.add(code, 'error', message, path, opts)
  }

  warn(
    code: ProblemCode,
    message: string,
    path: Path,
    opts?: { hint?: string; at?: 'key' | 'value'; range?: SourceRange },
  ) {
    return this.add(code, 'warning', message, path, opts)
  }

  /** Report YAML syntax errors and warnings (all of them). */
  private reportYamlErrors(doc: Document.Parsed): void {
    // one broken line can make the rest of a big file a cascade of errors: show the first ones
    const shown = doc.errors.slice(0, MAX_YAML_ERRORS)
    if (doc.errors.length > MAX_YAML_ERRORS) {
      const e = doc.errors[MAX_YAML_ERRORS]
      const [start, end] = e!.pos ?? [0, 0]
      this.problems.push({
        code: 'yaml-syntax',
        hint: 'fix the first errors: the others often follow from them',
        message: `YAML syntax error: ${doc.errors.length - MAX_YAML_ERRORS} more YAML errors from here on are not shown`,
        path: [],
        range: this.range(start, end),
        severity: 'error',
      })
    }
    for (const e of shown) {
      const code = e.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'yaml-syntax'
      const [start, end] = e.pos ?? [0, 0]
      let message = String(e.message)
        .split('\n')[0]!
        .replace(/ at line \d+, column \d+:?$/, '')
      if (e.code === 'DUPLICATE_KEY') {
        const keyPath = duplicateKeyPath(doc, start)
        message = keyPath ? `duplicate key '${keyPath}' in this mapping` : 'duplicate key in this mapping'
      }
      this.problems.push({
        code,
        severity: 'error',
        message: e.code === 'DUPLICATE_KEY' ? message : `YAML syntax error: ${message}`,
        hint: yamlHint(e.code, String(e.message)),
        range: this.range(start, end),
        path: [],
      })
    }
    for (const w of doc.warnings) {
      const [start, end] = w.pos ?? [0, 0]
      this.problems.push({
        code: 'yaml-warning',
        severity: 'warning',
        message: String(w.message).split('\n')[0]!,
        range: this.range(start, end),
        path: [],
      })
    }
  }

  /**
   * Convert the document to plain JS. Aliases to undefined anchors are reported and replaced by
   * null; an alias bomb is reported and yields `{ ok: false }`.
   */
  private toJS(doc: Document.Parsed): { ok: true; value: unknown } | { ok: false } {
    try {
      return { ok: true, value: doc.toJS({ maxAliasCount: 1000 }) }
    } catch (e) {
      const msg = String((e as Error)?.message ?? e)
      if (/Unresolved alias/i.test(msg)) {
        visit(doc, {
          Alias: (_key, node) => {
            if (node.resolve(doc) === undefined) {
              const r = node.range ?? [0, 0, 0]
              this.problems.push({
                code: 'unresolved-alias',
                severity: 'error',
                message: `alias '*${node.source}' refers to no anchor`,
                hint: `define '&${node.source}' on a node before using '*${node.source}'`,
                range: this.range(r[0], r[1]),
                path: [],
              })
              return new Scalar(null)
            }
            return undefined
          },
        })
        try {
          return { ok: true, value: doc.toJS({ maxAliasCount: 1000 }) }
        } catch {
          /* fall through */
        }
      }
      this.problems.push({
        code: 'yaml-alias',
        severity: 'error',
        message: `the document cannot be expanded: ${msg.split('\n')[0]}`,
        hint: 'use fewer nested aliases (*name)',
        range: this.range(0, 0),
        path: [],
      })
      return { ok: false }
    }
  }
}

/**
 * The whole path of the duplicated key whose key node starts at `offset`, e.g.
 * `execution.pools.cpu.workers` or `analysis.stages[2].id`: the bare key says little in a big file.
 */
function duplicateKeyPath(doc: Document.Parsed, offset: number): string | null {
  const walk = (node: unknown, prefix: string): string | null => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue
        const key = pair.key
        const name = isScalar(key) ? String(key.value) : String(key)
        const here = prefix ? `${prefix}.${name}` : name
        if (isScalar(key) && key.range?.[0] === offset) return here
        const inner = walk(pair.value, here)
        if (inner) return inner
      }
    } else if (isSeq(node)) {
      for (let i = 0; i < node.items.length; i++) {
        const inner = walk(node.items[i], `${prefix}[${i}]`)
        if (inner) return inner
      }
    }
    return null
  }
  return walk(doc.contents, '')
}
