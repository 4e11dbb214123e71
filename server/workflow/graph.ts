/**
 * Graph algorithms on stage indices: strongly connected components (cycles) and a topological
 * order with ties broken by source order. All O(V + E log V).
 */

/**
 * Tarjan's SCC (iterative). `deps[i]` lists the nodes i depends on (edges i -> dep).
 * Returns the components of size > 1 (self-loops are excluded by the caller).
 */
export function cyclicComponents(n: number, deps: number[][]): number[][] {
  const index = new Int32Array(n).fill(-1)
  const low = new Int32Array(n)
  const onStack = new Uint8Array(n)
  const stack: number[] = []
  const out: number[][] = []
  let counter = 0
  const iterStack: { v: number; i: number }[] = []
  for (let s = 0; s < n; s++) {
    if (index[s] !== -1) continue
    iterStack.push({ v: s, i: 0 })
    index[s] = low[s] = counter++
    stack.push(s)
    onStack[s] = 1
    while (iterStack.length) {
      const frame = iterStack[iterStack.length - 1]
      const v = frame!.v
      const edges = deps[v]
      if (frame!.i < edges!.length) {
        const w = edges![frame!.i++]
        if (index[w!] === -1) {
          index[w!] = low[w!] = counter++
          stack.push(w!)
          onStack[w!] = 1
          iterStack.push({ v: w!, i: 0 })
        } else if (onStack[w!]) {
          if (index[w!]! < low[v]!) low[v] = index[w!]!
        }
      } else {
        iterStack.pop()
        if (iterStack.length) {
          const parent = iterStack[iterStack.length - 1]!.v
          if (low[v]! < low[parent]!) low[parent] = low[v]!
        }
        if (low[v] === index[v]) {
          const comp: number[] = []
          let w: number
          do {
            w = stack.pop()!
            onStack[w] = 0
            comp.push(w)
          } while (w !== v)
          if (comp.length > 1) out.push(comp.sort((a, b) => a - b))
        }
      }
    }
  }
  out.sort((a, b) => a[0]! - b[0]!)
  return out
}

/**
 * A cycle through the smallest node of a component, in flow direction (upstream -> downstream):
 * returns [s, x1, ..., s] where each element feeds the next (x1 depends on s, ...).
 */
export function cycleThrough(comp: number[], deps: number[][]): number[] {
  const inComp = new Set(comp)
  const s = comp[0]! // a component has at least one node
  // dependents within the component: dependents[d] = nodes that depend on d
  const dependents = new Map<number, number[]>()
  for (const v of comp) {
    for (const d of deps[v]!) {
      if (!inComp.has(d)) continue
      let list = dependents.get(d)
      if (!list) dependents.set(d, (list = []))
      list.push(v)
    }
  }
  for (const list of dependents.values()) list.sort((a, b) => a - b)
  // BFS from s along dependents until we find a node that s depends on (closing the cycle)
  const prev = new Map<number, number>()
  const queue = [s]
  const seen = new Set([s])
  const sDeps = new Set(deps[s]!.filter((d) => inComp.has(d)))
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi]!
    if (v !== s && sDeps.has(v)) {
      const path = [v]
      let cur = v
      while (cur !== s) {
        cur = prev.get(cur)!
        path.push(cur)
      }
      path.reverse()
      path.push(s)
      return path
    }
    for (const w of dependents.get(v) ?? []) {
      if (seen.has(w)) continue
      seen.add(w)
      prev.set(w, v)
      queue.push(w)
    }
  }
  return [s, s]
}

/** Binary min-heap of numbers. */
class MinHeap {
  private a: number[] = []
  get size() {
    return this.a.length
  }
  push(x: number) {
    const a = this.a
    a.push(x)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (a[p]! <= a[i]!) break
      ;[a[p], a[i]] = [a[i]!, a[p]!]
      i = p
    }
  }
  pop(): number {
    const a = this.a
    const top = a[0]!
    const last = a.pop()!
    if (a.length) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && a[l]! < a[m]!) m = l
        if (r < a.length && a[r]! < a[m]!) m = r
        if (m === i) break
        ;[a[m], a[i]] = [a[i]!, a[m]!]
        i = m
      }
    }
    return top
  }
}

/**
 * Topological order (dependencies first), ties broken by the smallest index (source order).
 * Nodes left in cycles are appended in index order.
 */
export function topoOrder(n: number, deps: number[][]): number[] {
  const indeg = new Int32Array(n)
  const dependents: number[][] = Array.from({ length: n }, () => [])
  for (let v = 0; v < n; v++) {
    for (const d of deps[v]!) {
      indeg[v]!++
      dependents[d]!.push(v)
    }
  }
  const heap = new MinHeap()
  for (let v = 0; v < n; v++) if (indeg[v] === 0) heap.push(v)
  const order: number[] = []
  const placed = new Uint8Array(n)
  while (heap.size) {
    const v = heap.pop()
    order.push(v)
    placed[v] = 1
    for (const w of dependents[v]!) if (--indeg[w]! === 0) heap.push(w)
  }
  if (order.length < n) for (let v = 0; v < n; v++) if (!placed[v]) order.push(v)
  return order
}
