/** Did-you-mean suggestions by edit distance. */

/** Damerau (optimal string alignment) edit distance, bounded by `max` (returns max+1 when above). */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (a === b) return 0
  const la = a.length
  const lb = b.length
  if (Math.abs(la - lb) > max) return max + 1
  if (la === 0) return lb
  if (lb === 0) return la
  let prev2 = new Array<number>(lb + 1).fill(0)
  let prev = new Array<number>(lb + 1)
  let cur = new Array<number>(lb + 1)
  for (let j = 0; j <= lb; j++) prev[j] = j
  for (let i = 1; i <= la; i++) {
    cur[0] = i
    let rowMin = i
    for (let j = 1; j <= lb; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1
      // indices stay within 0..lb (the arrays' length is lb + 1)
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1)
      cur[j] = v
      if (v < rowMin) rowMin = v
    }
    if (rowMin > max) return max + 1
    const t = prev2
    prev2 = prev
    prev = cur
    cur = t
  }
  return prev[lb]!
}

/**
 * Closest candidates to `word` (case-insensitive), best first. A candidate qualifies when its
 * edit distance is at most max(1, min(3, floor(len/3))), when one is a prefix of the other
 * (e.g. `high_mem` -> `high_memory`), or when the words of one are words of the other
 * (`worker_dir` -> `worker_env_dir`).
 */
export function closest(word: string, candidates: Iterable<string>, limit = 3): string[] {
  const w = word.toLowerCase()
  const scored: { c: string; d: number }[] = []
  const seen = new Set<string>()
  for (const c of candidates) {
    if (seen.has(c) || c === word) continue
    seen.add(c)
    const lc = c.toLowerCase()
    const maxD = Math.max(1, Math.min(3, Math.floor(w.length / 3)))
    let d = editDistance(w, lc, maxD)
    if (d > maxD) {
      if (Math.min(w.length, lc.length) >= 3 && (lc.startsWith(w) || w.startsWith(lc))) d = maxD
      else if (sameWords(w, lc)) d = maxD
      else continue
    }
    scored.push({ c, d })
  }
  scored.sort((x, y) => x.d - y.d || (x.c < y.c ? -1 : x.c > y.c ? 1 : 0))
  return scored.slice(0, limit).map((s) => s.c)
}

/** every word of `a` (split on _ . -) is a word of `b` or vice versa, e.g. worker_dir ~ worker_env_dir */
function sameWords(a: string, b: string): boolean {
  const wa = a.split(/[_.-]+/).filter(Boolean)
  const wb = b.split(/[_.-]+/).filter(Boolean)
  if (wa.length < 2 && wb.length < 2) return false
  const [small, big] = wa.length <= wb.length ? [wa, new Set(wb)] : [wb, new Set(wa)]
  return small.length > 0 && small.every((x) => big.has(x))
}

/** "did you mean 'x'?" or "did you mean 'x' or 'y'?" or undefined. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const all = closest(word, candidates, 3)
  if (all.length === 0) return undefined
  // only the candidates as close as the best one
  const lw = word.toLowerCase()
  const best = editDistance(lw, all[0]!.toLowerCase())
  const c = all.filter((x) => editDistance(lw, x.toLowerCase()) === best).slice(0, 2)
  return `did you mean ${c.map((x) => `'${x}'`).join(' or ')}?`
}
