/**
 * Line diff (Myers' O(ND) algorithm, common prefix/suffix trimmed first). Used for the summary
 * beside Monaco's diff editor, for the CLI and for tests. Bounded: beyond MAX_D edits the middle
 * is reported as one replaced block (still correct, not minimal).
 */
export interface DiffHunk {
  /** 1-based first line in the old text (0 when oldLines is 0: insertion after line `oldStart`) */
  oldStart: number
  oldLines: number
  newStart: number
  newLines: number
}

export interface LineDiff {
  identical: boolean
  added: number
  removed: number
  unchanged: number
  hunks: DiffHunk[]
}

type Op = 0 | 1 | 2 // 0 equal, 1 delete (old), 2 insert (new)

const MAX_D = 4000

export function splitLines(text: string): string[] {
  if (text === '') return []
  const lines = text.split(/\r?\n/)
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}

function myers(a: number[], b: number[]): Op[] | null {
  const n = a.length
  const m = b.length
  const max = n + m
  const offset = max + 1
  const v = new Int32Array(2 * max + 3)
  const trace: Int32Array[] = []
  // |k| <= d <= max: every v[offset + k ± 1] below lies inside v, and every window in trace (asserted with `!`)
  for (let d = 0; d <= Math.min(max, MAX_D); d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2))
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1
      let y = x - k
      while (x < n && y < m && a[x] === b[y]) x++, y++
      v[offset + k] = x
      if (x >= n && y >= m) return backtrack(trace, a.length, b.length, d)
    }
  }
  return null
}

function backtrack(trace: Int32Array[], n: number, m: number, dEnd: number): Op[] {
  const ops: Op[] = []
  let x = n
  let y = m
  for (let d = dEnd; d > 0; d--) {
    const vd = trace[d]! // window [-(d)-1 .. d+1] of V before step d
    const at = (k: number) => vd[k + d + 1]!
    const k = x - y
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1
    const prevX = at(prevK)
    const prevY = prevX - prevK
    while (x > prevX && y > prevY) ops.push(0), x--, y--
    if (x === prevX) ops.push(2), y--
    else ops.push(1), x--
  }
  while (x > 0 && y > 0) ops.push(0), x--, y--
  return ops.reverse()
}

export function diffLines(oldText: string, newText: string): LineDiff {
  const a0 = splitLines(oldText)
  const b0 = splitLines(newText)
  let pre = 0
  while (pre < a0.length && pre < b0.length && a0[pre] === b0[pre]) pre++
  let suf = 0
  while (suf < a0.length - pre && suf < b0.length - pre && a0[a0.length - 1 - suf] === b0[b0.length - 1 - suf]) suf++
  const ids = new Map<string, number>()
  const id = (s: string) => {
    let i = ids.get(s)
    if (i === undefined) ids.set(s, (i = ids.size))
    return i
  }
  const a = a0.slice(pre, a0.length - suf).map(id)
  const b = b0.slice(pre, b0.length - suf).map(id)
  const middle: Op[] = myers(a, b) ?? [...a.map(() => 1 as Op), ...b.map(() => 2 as Op)]
  const ops: Op[] = [...new Array<Op>(pre).fill(0), ...middle, ...new Array<Op>(suf).fill(0)]

  let added = 0
  let removed = 0
  let unchanged = 0
  const hunks: DiffHunk[] = []
  let i = 0 // old index
  let j = 0 // new index
  let cur: DiffHunk | null = null
  for (const op of ops) {
    if (op === 0) {
      unchanged++
      i++
      j++
      cur = null
      continue
    }
    if (!cur) {
      cur = { oldStart: i + 1, oldLines: 0, newStart: j + 1, newLines: 0 }
      hunks.push(cur)
    }
    if (op === 1) removed++, cur.oldLines++, i++
    else added++, cur.newLines++, j++
  }
  for (const h of hunks) {
    if (h.oldLines === 0) h.oldStart -= 1
    if (h.newLines === 0) h.newStart -= 1
  }
  return { identical: added === 0 && removed === 0 && oldText === newText, added, removed, unchanged, hunks }
}
