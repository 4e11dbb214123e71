'use client'

import { useEffect, useMemo, useRef, useState } from 'react'
import { type LayoutInput, layoutGraphSync, provisionalPositions, quickLayout, structureKey } from './layout'
import { layoutsHere, requestLayout } from './layoutService'
import type { Positions } from './types'

const CACHE_SIZE = 24

/** Least-recently-used: the structures just seen (e.g. a group expanded and collapsed) stay cached. */
function remember(c: Map<string, Positions>, k: string, p: Positions) {
  c.delete(k)
  c.set(k, p)
  if (c.size > CACHE_SIZE) c.delete(c.keys().next().value as string)
}

/**
 * Positions for a graph, cached by a deterministic structure key (node ids + edges, as Dagster's
 * asyncGraphLayout does): when only labels, ops, params, pools or colours change, nothing is laid
 * out again and nothing moves. A small graph, and a large one (linear-time layout), is laid out at
 * once: its first paint is final. In between (dagre's range) it first shows a quick layout (known
 * nodes keep their place, new ones go next to their upstream) while the real layout runs in the
 * worker, then moves once to its final place; stale results are dropped.
 */
export function useGraphLayout(input: LayoutInput): { positions: Positions; key: string; pending: boolean } {
  const key = useMemo(() => structureKey(input), [input])
  const cache = useRef(new Map<string, Positions>())
  const last = useRef<Positions>({})
  const [, setVersion] = useState(0)
  const inputRef = useRef(input)
  inputRef.current = input

  let cached = cache.current.get(key)
  if (!cached && layoutsHere(input.nodes.length)) {
    cached = layoutGraphSync(input).positions
    remember(cache.current, key, cached)
  }
  // biome-ignore lint/correctness/useExhaustiveDependencies: `input` is read through the key (same key, same structure)
  const positions = useMemo(
    () =>
      cached ??
      (Object.keys(last.current).length ? provisionalPositions(input, last.current) : quickLayout(input).positions),
    [key, cached],
  )

  useEffect(() => {
    last.current = positions
  }, [positions])

  useEffect(() => {
    if (cache.current.has(key)) return
    let cancelled = false
    requestLayout(inputRef.current)
      .then((r) => {
        remember(cache.current, key, r.positions)
        if (!cancelled) setVersion((v) => v + 1)
      })
      .catch((e) => console.warn('[layout]', e))
    return () => {
      cancelled = true
    }
  }, [key])

  return { positions, key, pending: !cached }
}
