/**
 * Pure detection of what the editor should complete at a position in a workflow YAML:
 * pool names after `require`/`prefer`/`fallback`, stage ids in `needs`/`from`, modifiers under
 * `modifiers`, ops after `op:`.
 */

export type CompletionKind = 'pool' | 'stage' | 'modifier' | 'op'

export interface CompletionContext {
  kind: CompletionKind
  /** the partial word before the cursor (replaced by the completion) */
  prefix: string
}

const KEY_KIND: Record<string, CompletionKind> = {
  require: 'pool',
  prefer: 'pool',
  fallback: 'pool',
  needs: 'stage',
  from: 'stage',
  modifiers: 'modifier',
  op: 'op',
}

const indentOf = (s: string) => s.length - s.trimStart().length
/** identifier characters of ids, pool names, ops and modifiers */
const WORD = /[A-Za-z0-9_.\-:]*$/

function stripQuote(prefix: string): string {
  return prefix.replace(/^["']/, '')
}

/**
 * @param lines the document's lines
 * @param lineNumber 1-based
 * @param column 1-based (the cursor is before this column)
 */
export function completionContext(
  lines: readonly string[],
  lineNumber: number,
  column: number,
): CompletionContext | null {
  const line = lines[lineNumber - 1] ?? ''
  const before = line.slice(0, column - 1)
  if (/#/.test(before.replace(/(["'])(?:(?!\1).)*\1/g, ''))) return null // inside a comment

  // `key: value` on the same line (optionally an inline list / flow sequence)
  const kv = /^\s*(?:-\s+)?([A-Za-z_]+)\s*:\s*(.*)$/.exec(before)
  if (kv) {
    const key = kv[1] ?? ''
    const rest = kv[2] ?? ''
    const kind = KEY_KIND[key]
    if (kind) {
      if (rest.startsWith('[')) {
        const tail = rest.slice(rest.lastIndexOf(',') >= 0 ? rest.lastIndexOf(',') + 1 : 1).trimStart()
        if (tail.includes(']')) return null
        return { kind, prefix: stripQuote(tail) }
      }
      if (/\s/.test(rest.trimStart())) return null
      return { kind, prefix: stripQuote(rest) }
    }
    // `- name: gpu.preload` inside modifiers, `node: X` inside from
    if (key === 'name' || key === 'node') {
      const parent = parentKey(lines, lineNumber, indentOf(line.replace(/^(\s*)-\s+/, '$1  ')))
      if (key === 'name' && parent === 'modifiers') return { kind: 'modifier', prefix: stripQuote(rest.trim()) }
      if (key === 'node' && (parent === 'from' || parent === 'needs'))
        return { kind: 'stage', prefix: stripQuote(rest.trim()) }
    }
    return null
  }

  // `- item` in a block list under a key
  const item = /^(\s*)-\s+(.*)$/.exec(before) ?? /^(\s*)-$/.exec(before)
  if (item) {
    const value = item[2] ?? ''
    if (value.includes(':') || /\s/.test(value.trim())) return null
    const parent = parentKey(lines, lineNumber, (item[1] ?? '').length)
    const kind = parent ? KEY_KIND[parent] : undefined
    if (kind === 'stage' || kind === 'modifier') return { kind, prefix: stripQuote(WORD.exec(value)?.[0] ?? value) }
    return null
  }
  return null
}

/**
 * The key that owns a list item or nested mapping at `indent` on `lineNumber`: the nearest line above
 * with a smaller indent (or the same indent for `key:` followed by a same-indent `- item`), that is a
 * `key:` with nothing after it.
 */
function parentKey(lines: readonly string[], lineNumber: number, indent: number): string | null {
  for (let i = lineNumber - 2; i >= 0; i--) {
    const l = lines[i] ?? ''
    if (!l.trim() || l.trimStart().startsWith('#')) continue
    const ind = indentOf(l)
    if (ind > indent) continue
    const t = l.trim()
    if (ind === indent && t.startsWith('-')) continue // a sibling item
    const m = /^(?:-\s+)?([A-Za-z_]+)\s*:\s*(?:#.*)?$/.exec(t)
    if (m) return m[1] ?? null
    // a sibling key of a list-item mapping (e.g. `- name: x` then `  params:`) → keep looking up
    if (ind === indent) continue
    return null
  }
  return null
}

/**
 * The JSON Schema handed to monaco-yaml, trimmed so its completions do not clash with ours:
 * - no `required` lists: monaco-yaml turns them into a "skeleton" entry labelled with the schema's
 *   type name (`object(FAST-HEP workflow…)`), which is noise here (the compiler reports missing keys);
 * - no enums that our provider offers itself (ops, modifiers, with descriptions and registry ops),
 *   which would otherwise be listed twice.
 */
export function schemaForEditor(schema: unknown, ownValues: ReadonlySet<string>): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (!v || typeof v !== 'object') return v
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'required' && Array.isArray(x)) continue
      if (k === 'enum' && Array.isArray(x) && x.length > 0 && x.every((e) => ownValues.has(String(e)))) continue
      out[k] = walk(x)
    }
    return out
  }
  return walk(schema)
}

/** Labels once each, in first-seen order (pools, stages and ops can come from several sources). */
export function uniqueLabels(labels: Iterable<string>): string[] {
  return [...new Set(labels)]
}
