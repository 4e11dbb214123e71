/**
 * Incremental fast parse: when an edit stays inside one item of `analysis.stages`, only that
 * item's lines are parsed again and spliced into the previous tree.
 *
 * Why: the editor re-plans the whole document on every keystroke, and in a 2,000-stage workflow the
 * parse was half of the compile. A stage item of a block sequence is read from its own lines only
 * (its `- ` line and the deeper-indented lines under it, up to the next `- ` at the sequence's
 * indentation), so parsing those lines alone, as a one-item sequence at the same indentation, gives
 * the same nodes and value as parsing the whole text, shifted by where the lines start. When the
 * edited lines no longer read as exactly one item there (a new `- `, a dedent, anything the fast
 * parser leaves to the `yaml` package), `reparse` answers null and the caller parses the whole text.
 *
 * The result equals `fastParse(next)` (checked by a differential property test). Nodes after the
 * edit are moved in place: `prev`'s tree belongs to the caller's cache and is not used again; its
 * values are copied on the path to the edited item only (values, unlike nodes, may be referenced by
 * an earlier plan).
 */
import { type FastParseResult, fastParse, type YMap, type YNode, type YSeq } from './ynode.ts'

export interface ParsedText extends FastParseResult {
  source: string
}

/** The value of key `name` in a block map node, with its index; null when absent. */
function pairIndex(map: YMap, name: string): number {
  for (let j = 0; j < map.pairs.length; j++) if (map.pairs[j]!.key.value === name) return j
  return -1
}

/** Length of the common prefix of a and b (binary search over slices: compared natively). */
function commonPrefix(a: string, b: string): number {
  let lo = 0
  let hi = Math.min(a.length, b.length)
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (a.slice(lo, mid) === b.slice(lo, mid)) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** Length of the common suffix of a and b, at most `max`. */
function commonSuffix(a: string, b: string, max: number): number {
  let lo = 0
  let hi = max
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (a.slice(a.length - mid, a.length - lo) === b.slice(b.length - mid, b.length - lo)) lo = mid
    else hi = mid - 1
  }
  return lo
}

const lineStartOf = (src: string, offset: number) => src.lastIndexOf('\n', offset - 1) + 1

/** Start of the `- ` line of a block sequence item at column `col`, or -1 when it is not on it. */
function dashLineStart(src: string, item: YNode, col: number): number {
  const ls = lineStartOf(src, item.start)
  const dash = ls + col
  return dash < item.start && src.charCodeAt(dash) === 45 /* - */ ? ls : -1
}

function shift(node: YNode, by: number): void {
  node.start += by
  node.end += by
  if (node.kind === 'map') {
    for (const p of node.pairs) {
      p.key.start += by
      p.key.end += by
      shift(p.value, by)
    }
  } else if (node.kind === 'seq') {
    for (const it of node.items) shift(it, by)
  }
}

/** A block map's end, as the parser sets it: its last pair's value or key end. */
function mapEnd(map: YMap): number {
  const last = map.pairs[map.pairs.length - 1]
  return last ? Math.max(last.key.end, last.value.end) : map.end
}

/**
 * `next` parsed by re-reading only the stage item an edit of `prev.source` falls in; null when the
 * edit is elsewhere or changes more than that item (the caller then parses the whole text).
 */
export function reparse(prev: ParsedText, next: string): FastParseResult | null {
  const a = prev.source
  const root = prev.root
  if (root?.kind !== 'map' || root.flow || a === next) return null
  const ai = pairIndex(root, 'analysis')
  const analysis = ai < 0 ? null : root.pairs[ai]!.value
  if (analysis?.kind !== 'map' || analysis.flow) return null
  const si = pairIndex(analysis, 'stages')
  const stages = si < 0 ? null : analysis.pairs[si]!.value
  if (stages?.kind !== 'seq' || stages.flow || stages.items.length === 0) return null
  const col = stages.start - lineStartOf(a, stages.start)
  if (col <= 0) return null

  // the edit: a[p, a.length - s) became next[p, next.length - s)
  const p = commonPrefix(a, next)
  const s = commonSuffix(a, next, Math.min(a.length, next.length) - p)
  const oldEnd = a.length - s
  const delta = next.length - a.length

  // the item whose lines hold the edit: the last one starting at or before p
  const items = stages.items
  let lo = 0
  let hi = items.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (items[mid]!.start <= p) lo = mid
    else hi = mid - 1
  }
  const i = lo
  const item = items[i]!
  const chunkStart = dashLineStart(a, item, col)
  if (chunkStart < 0 || p < chunkStart) return null
  let chunkEnd: number
  const after = items[i + 1]
  if (after) {
    chunkEnd = dashLineStart(a, after, col)
    if (chunkEnd < 0) return null
  } else {
    const nl = a.indexOf('\n', Math.max(item.start, item.end - 1))
    chunkEnd = nl < 0 ? a.length : nl + 1
  }
  // the chunk's last character (its newline) stays: joining it with the next line is not local
  if (oldEnd >= chunkEnd) return null

  const text = next.slice(chunkStart, chunkEnd + delta)
  const part = fastParse(text)
  const seq = part?.root
  if (!part || seq?.kind !== 'seq' || seq.flow || seq.items.length !== 1 || seq.start !== col) return null
  const newItem = seq.items[0]!
  const newValue = (part.value as unknown[])[0]

  // splice: the new item at its place, everything after the chunk moved by delta
  shift(newItem, chunkStart)
  for (let k = i + 1; k < items.length; k++) shift(items[k]!, delta)
  for (let k = si + 1; k < analysis.pairs.length; k++) {
    const pr = analysis.pairs[k]!
    pr.key.start += delta
    pr.key.end += delta
    shift(pr.value, delta)
  }
  for (let k = ai + 1; k < root.pairs.length; k++) {
    const pr = root.pairs[k]!
    pr.key.start += delta
    pr.key.end += delta
    shift(pr.value, delta)
  }
  items[i] = newItem
  const seqNode = stages as YSeq
  seqNode.end = items[items.length - 1]!.end
  analysis.end = mapEnd(analysis)
  root.end = mapEnd(root)

  // values: copied on the path to the item only (earlier plans may hold the old ones)
  const oldRoot = prev.value as Record<string, unknown>
  const oldAnalysis = oldRoot.analysis as Record<string, unknown>
  const list = (oldAnalysis.stages as unknown[]).slice()
  list[i] = newValue
  const value = { ...oldRoot, analysis: { ...oldAnalysis, stages: list } }
  return { root, value }
}

/**
 * A fast parse that remembers the last text it read: `parse(next)` re-reads only the edited stage
 * when it can (`reparse`), else the whole text. Null when the text needs the `yaml` package.
 */
export class IncrementalParser {
  private last: ParsedText | null = null

  parse(source: string): FastParseResult | null {
    const last = this.last
    if (last && last.source === source) return { root: last.root, value: last.value }
    this.last = null // the previous tree is moved into the new one (or dropped on any failure)
    const r = (last && reparse(last, source)) ?? fastParse(source)
    if (r) this.last = { source, root: r.root, value: r.value }
    return r
  }
}
