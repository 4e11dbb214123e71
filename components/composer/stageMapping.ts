/**
 * Pure mappings between the YAML source and the stages of a plan: which stage the cursor is in, and
 * which stage a compiler problem belongs to.
 */
import type { ExecutionPlan, Problem, SourceRange } from '~/server/workflow'

export interface StageIndexEntry {
  id: string
  start: number
  end: number
  startLine: number
  endLine: number
  /** column of the stage mapping's first key (its `id:`) */
  startCol: number
}

/** Stage ranges sorted by start offset, for binary search. */
export function buildStageIndex(stageRanges: Record<string, SourceRange>): StageIndexEntry[] {
  const out: StageIndexEntry[] = []
  let sorted = true
  for (const id in stageRanges) {
    const r = stageRanges[id] as SourceRange
    const e = {
      id,
      start: r.start.offset,
      end: r.end.offset,
      startLine: r.start.line,
      endLine: r.end.line,
      startCol: r.start.col,
    }
    const last = out[out.length - 1]
    if (last && (last.start > e.start || (last.start === e.start && last.end > e.end))) sorted = false
    out.push(e)
  }
  // the compiler lists stages in source order: sorting is only for ranges from elsewhere
  return sorted ? out : out.sort((a, b) => a.start - b.start || a.end - b.end)
}

/**
 * The stage whose source range holds the cursor: by offset, or else the stage starting on the cursor's
 * line (the cursor may sit on the `- ` before the stage mapping starts), or else the stage just above
 * when the cursor's line is indented as that stage's keys (a new line typed at the end of a stage, by
 * Enter, still belongs to it: the YAML range ends at the stage's last value).
 */
export function stageAt(
  index: StageIndexEntry[],
  pos: { offset: number; line?: number; col?: number; indentCol?: number },
): string | null {
  let lo = 0
  let hi = index.length - 1
  let found = -1
  // last entry with start <= offset
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if ((index[mid]?.start ?? 0) <= pos.offset) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  const prev = index[found]
  if (prev && pos.offset <= prev.end) return prev.id
  if (pos.line !== undefined) {
    const next = index[found + 1]
    if (next && next.startLine === pos.line) return next.id
    if (prev && prev.endLine === pos.line && prev.startLine === pos.line) return prev.id
    if (prev && pos.col !== undefined && pos.line > prev.endLine && (!next || pos.line < next.startLine)) {
      // a blank line counts as indented where the cursor is
      const indent = pos.indentCol ? pos.indentCol : pos.col
      if (indent >= prev.startCol) return prev.id
    }
  }
  return null
}

/** 0-based offset of a 1-based line/column in `text`. */
export function offsetAt(text: string, line: number, col: number): number {
  let offset = 0
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset)
    if (nl < 0) return text.length
    offset = nl + 1
  }
  return Math.min(text.length, offset + col - 1)
}

export interface StageProblems {
  severity: 'error' | 'warning'
  messages: string[]
}

/**
 * Problems attached to stages: by their YAML path (`analysis.stages[i]...` → the stage with source
 * index i), else by their range falling inside a stage's range.
 */
export function problemsByStage(
  problems: readonly Problem[],
  plan: Pick<ExecutionPlan, 'stages'> | null,
  stageRanges: Record<string, SourceRange>,
): Map<string, StageProblems> {
  const byIndex = new Map<number, string>()
  if (plan) for (const s of plan.stages) byIndex.set(s.index, s.id)
  const index = buildStageIndex(stageRanges)
  const out = new Map<string, StageProblems>()
  for (const p of problems) {
    let id: string | null = null
    const path = p.path ?? []
    if (path[0] === 'analysis' && path[1] === 'stages' && typeof path[2] === 'number') id = byIndex.get(path[2]) ?? null
    if (!id && p.range) id = stageAt(index, { offset: p.range.start.offset })
    if (!id) continue
    const cur = out.get(id)
    const msg = p.hint ? `${p.message} (${p.hint})` : p.message
    if (!cur) out.set(id, { severity: p.severity, messages: [msg] })
    else {
      cur.messages.push(msg)
      if (p.severity === 'error') cur.severity = 'error'
    }
  }
  return out
}

/** YAML that cannot be read (the compiler's `yaml-syntax`): the last good graph is kept meanwhile. */
export function isSyntaxProblem(p: Pick<Problem, 'code' | 'severity'>): boolean {
  return p.severity === 'error' && p.code === 'yaml-syntax'
}
