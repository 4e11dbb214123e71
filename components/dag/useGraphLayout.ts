'use client'

import { useEffect, useMemo, useRef, useState } from 'react'
import { provisionalPositions, quickLayout, structureKey, type LayoutInput } from './layout'
import { requestLayout } from './layoutService'
import type { Positions } from './types'

const CACHE_SIZE = 24

/**
 * Positions for a graph, cached by structure (node ids + edges): when only labels, pools or colours
 * change, nothing is laid out again and nothing moves. When the structure changes, known nodes stay
 * where they are and new ones are placed next to their upstream at once, while ELK computes the real
 * layout in the worker; stale layout results are dropped.
 */
export function useGraphLayout(input: LayoutInput): { positions: Positions; key: string; pending: boolean } {
  const key = useMemo(() => structureKey(input), [input])
  const cache = useRef(new Map<string, Positions>())
  const last = useRef<Positions>({})
  const [, setVersion] = useState(0)
  const inputRef = useRef(input)
  inputRef.current = input

  const cached = cache.current.get(key)
  // biome-ignore lint/correctness/useExhaustiveDependencies: pre-existing: review when this component is next changed
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
    const timer = setTimeout(() => {
      requestLayout(inputRef.current)
        .then((r) => {
          const c = cache.current
          c.set(key, r.positions)
          if (c.size > CACHE_SIZE) c.delete(c.keys().next().value as string)
          if (!cancelled) setVersion((v) => v + 1)
        })
        .catch((e) => console.warn('[layout]', e))
    }, 30)
    return () => {
      cancelled = true
      clearTimeout(timer)
    }
  }, [key])

  return { positions, key, pending: !cached }
}
