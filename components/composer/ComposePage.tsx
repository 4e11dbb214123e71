'use client'

import { useCallback, useEffect, useRef, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import type { CompileResult } from '~/server/workflow'
import { useTRPC } from '~/components/trpc/client'
import { Composer } from './Composer'
import { SaveBar, type SavedRef } from './SaveBar'

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
  /** `?workflow=<id>&version=<vid>`: open a saved version instead of an example or the draft */
  open?: { workflowId: string; versionId: string | null } | null
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
export function ComposePage({ examples, initial, requested, open }: ComposePageProps) {
  const trpc = useTRPC()
  const queryClient = useQueryClient()
  const [doc, setDoc] = useState<Doc | null>(null)
  const [savedAt, setSavedAt] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const [saved, setSaved] = useState<SavedRef | null>(null)
  const [source, setSource] = useState('')
  const [openError, setOpenError] = useState<string | null>(null)
  const keyRef = useRef(0)

  /** Opens a saved version (the newest when `versionId` is null): its text comes from the library. */
  const openSaved = useCallback(
    (workflowId: string, versionId: string | null, isCancelled: () => boolean = () => false) => {
      queryClient
        .fetchQuery({ ...trpc.workflow.get.queryOptions({ id: workflowId, versionId }), staleTime: 0 })
        .then((r) => {
          if (isCancelled()) return
          if (!r.version) throw new Error('this workflow has no saved version')
          const v = r.version
          setSaved({
            workflowId: r.workflow.id,
            versionId: v.id,
            number: v.number,
            name: r.workflow.name,
            valid: v.valid,
            yaml: v.yaml,
          })
          setSource(v.yaml)
          setDoc({ key: ++keyRef.current, source: v.yaml, fileName: `${r.workflow.name}.yaml`, exampleId: null })
          if (versionId === null)
            window.history.replaceState(null, '', `/compose?workflow=${r.workflow.id}&version=${v.id}`)
        })
        .catch((e: unknown) => {
          if (!isCancelled()) setOpenError(e instanceof Error ? e.message : String(e))
        })
    },
    [queryClient, trpc],
  )

  // biome-ignore lint/correctness/useExhaustiveDependencies: `open` is a new object on every render of the page: depend on its ids
  useEffect(() => {
    if (open) {
      let cancelled = false
      openSaved(open.workflowId, open.versionId, () => cancelled)
      return () => {
        cancelled = true
      }
    }
    const draft = requested ? null : readDraft()
    if (requested) window.history.replaceState(null, '', '/compose')
    if (draft) {
      setDoc({ key: ++keyRef.current, source: draft.source, fileName: draft.fileName, exampleId: draft.exampleId })
      setSavedAt(draft.savedAt)
    } else setDoc({ key: ++keyRef.current, source: initial.source, fileName: initial.fileName, exampleId: initial.id })
    setSource(draft ? draft.source : initial.source)
    return undefined
  }, [initial, requested, open?.workflowId, open?.versionId])

  const docRef = useRef(doc)
  docRef.current = doc
  const savedRef = useRef(saved)
  savedRef.current = saved
  const dirty = saved !== null && saved.yaml !== source
  useEffect(() => {
    if (!dirty) return
    const guard = (e: BeforeUnloadEvent) => {
      e.preventDefault()
      e.returnValue = ''
    }
    window.addEventListener('beforeunload', guard)
    return () => window.removeEventListener('beforeunload', guard)
  }, [dirty])
  const onSaved = useCallback((ref: SavedRef) => {
    setSaved(ref)
    window.history.replaceState(null, '', `/compose?workflow=${ref.workflowId}&version=${ref.versionId}`)
  }, [])
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
      setSource(source)
      if (savedRef.current) return // a saved workflow's edits are protected by the unsaved-changes guard instead
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
        setSaved(null)
        setSource(source)
        window.history.replaceState(null, '', '/compose')
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
          {!saved && savedAt ? ` · draft kept in this browser` : ''}
        </span>
      ) : null}
      {doc ? (
        <SaveBar
          key={saved?.workflowId ?? 'new'}
          saved={saved}
          source={source}
          defaultName={doc.exampleId ?? doc.fileName.replace(/\.ya?ml$/, '')}
          onSaved={onSaved}
          onReload={(workflowId) => openSaved(workflowId, null)}
        />
      ) : null}
    </>
  )

  return (
    <div className="composer-page">
      {doc ? (
        <Composer
          key={doc.key}
          initialSource={doc.source}
          fileName={doc.fileName}
          onChange={handleChange}
          toolbar={toolbar}
        />
      ) : openError ? (
        <div className="editor-loading error" role="alert">
          Could not open the workflow: {openError}
        </div>
      ) : (
        <div className="editor-loading">Loading…</div>
      )}
    </div>
  )
}
