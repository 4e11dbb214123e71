'use client'

import { useCallback, useEffect, useRef, useState } from 'react'
import type { CompileResult } from '~/server/workflow'
import { Composer } from './Composer'

export interface ExampleEntry {
  id: string
  title: string
  description: string
  file: string
}

export interface ComposePageProps {
  examples: ExampleEntry[]
  /** the example to start from: the one asked for in `?example=`, else the default */
  initial: { id: string; fileName: string; source: string }
  /** true when the URL asked for this example explicitly (it then wins over the saved draft) */
  requested: boolean
}

export const DRAFT_KEY = 'controlroom.composer.draft.v1'

interface Doc {
  key: number
  source: string
  fileName: string
  exampleId: string | null
}

interface Draft {
  source: string
  fileName: string
  exampleId: string | null
  savedAt: string
}

function readDraft(): Draft | null {
  try {
    const raw = localStorage.getItem(DRAFT_KEY)
    if (!raw) return null
    const d = JSON.parse(raw) as Draft
    return typeof d.source === 'string' ? d : null
  } catch {
    return null
  }
}

/** /compose: the composer started from a bundled example, its text kept as a local draft across reloads. */
export function ComposePage({ examples, initial, requested }: ComposePageProps) {
  const [doc, setDoc] = useState<Doc | null>(null)
  const [savedAt, setSavedAt] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const keyRef = useRef(0)

  useEffect(() => {
    const draft = requested ? null : readDraft()
    if (requested) window.history.replaceState(null, '', '/compose')
    if (draft) {
      setDoc({ key: ++keyRef.current, source: draft.source, fileName: draft.fileName, exampleId: draft.exampleId })
      setSavedAt(draft.savedAt)
    } else setDoc({ key: ++keyRef.current, source: initial.source, fileName: initial.fileName, exampleId: initial.id })
  }, [initial, requested])

  const docRef = useRef(doc)
  docRef.current = doc
  // The draft is written when typing pauses (a large workflow is tens of KB: not on every re-plan).
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const pendingDraft = useRef<Draft | null>(null)
  const flushDraft = useCallback(() => {
    if (saveTimer.current) clearTimeout(saveTimer.current)
    saveTimer.current = null
    const draft = pendingDraft.current
    pendingDraft.current = null
    if (!draft) return
    try {
      localStorage.setItem(DRAFT_KEY, JSON.stringify(draft))
      setSavedAt(draft.savedAt)
    } catch {
      /* storage full or disabled: the draft is just not kept */
    }
  }, [])
  const handleChange = useCallback(
    (source: string, _result: CompileResult) => {
      const d = docRef.current
      if (!d) return
      pendingDraft.current = { source, fileName: d.fileName, exampleId: d.exampleId, savedAt: new Date().toISOString() }
      if (saveTimer.current) clearTimeout(saveTimer.current)
      saveTimer.current = setTimeout(flushDraft, 400)
    },
    [flushDraft],
  )
  useEffect(() => {
    window.addEventListener('pagehide', flushDraft)
    return () => {
      window.removeEventListener('pagehide', flushDraft)
      flushDraft()
    }
  }, [flushDraft])

  const loadExample = useCallback(
    async (id: string) => {
      const entry = examples.find((e) => e.id === id)
      if (!entry) return
      setLoading(true)
      try {
        const res = await fetch(`/compose/example/${encodeURIComponent(id)}`, { cache: 'no-store' })
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
        const source = await res.text()
        const d: Draft = { source, fileName: entry.file, exampleId: id, savedAt: new Date().toISOString() }
        localStorage.setItem(DRAFT_KEY, JSON.stringify(d))
        setSavedAt(d.savedAt)
        setDoc({ key: ++keyRef.current, source, fileName: entry.file, exampleId: id })
      } catch (e) {
        alert(`Could not load the example: ${e instanceof Error ? e.message : String(e)}`)
      } finally {
        setLoading(false)
      }
    },
    [examples],
  )

  const toolbar = (
    <>
      <label className="example-menu">
        <span className="muted">New from example</span>
        <select
          data-testid="example-menu"
          value=""
          disabled={loading}
          onChange={(e) => {
            if (e.target.value) void loadExample(e.target.value)
          }}
        >
          <option value="">choose…</option>
          {examples.map((e) => (
            <option key={e.id} value={e.id} title={e.description}>
              {e.title}
            </option>
          ))}
        </select>
      </label>
      {doc ? (
        <span className="muted draft-note" data-testid="draft-note">
          {doc.exampleId ? `from ${doc.exampleId}` : doc.fileName}
          {savedAt ? ` · draft kept in this browser` : ''}
        </span>
      ) : null}
    </>
  )

  return (
    <div className="composer-page">
      {doc ? (
        <Composer key={doc.key} initialSource={doc.source} fileName={doc.fileName} onChange={handleChange} toolbar={toolbar} />
      ) : (
        <div className="editor-loading">Loading…</div>
      )}
    </div>
  )
}
