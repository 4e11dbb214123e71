'use client'
/**
 * Save / run controls of the composer. A draft becomes a workflow on its first save; later saves
 * are new versions whose parent is the version the text was opened from, so two tabs cannot
 * silently overwrite each other (the server answers CONFLICT and nothing is written).
 */
import Link from 'next/link'
import { useState } from 'react'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import { StartRunButton } from '~/components/run/StartRunButton'

export interface SavedRef {
  workflowId: string
  versionId: string
  number: number
  name: string
  valid: boolean
  yaml: string
}

export interface SaveBarProps {
  saved: SavedRef | null
  source: string
  defaultName: string
  onSaved(ref: SavedRef): void
  /** load the workflow's newest version in place of this text (after a save conflict) */
  onReload(workflowId: string): void
}

export function SaveBar({ saved, source, defaultName, onSaved, onReload }: SaveBarProps) {
  const trpc = useTRPC()
  const queryClient = useQueryClient()
  const [name, setName] = useState(defaultName)
  const [message, setMessage] = useState('')
  const [error, setError] = useState<{ message: string; conflict: boolean } | null>(null)
  const dirty = !saved || saved.yaml !== source

  const save = useMutation(
    trpc.workflow.saveVersion.mutationOptions({
      onSuccess: (r) => {
        setError(null)
        setMessage('')
        void queryClient.invalidateQueries({ queryKey: trpc.workflow.pathKey() })
        onSaved({
          workflowId: r.workflow.id,
          versionId: r.version.id,
          number: r.version.number,
          name: r.workflow.name,
          valid: r.version.valid,
          yaml: r.version.yaml,
        })
      },
      onError: (e) => setError({ message: e.message, conflict: e.data?.code === 'CONFLICT' }),
    }),
  )

  /** After a conflict: the same text as a new workflow, so neither version is lost. */
  function onSaveCopy() {
    save.mutate({
      workflowId: null,
      parentVersionId: null,
      yaml: source,
      message: message || undefined,
      name: `${saved?.name ?? (name || defaultName)} (copy)`,
    })
  }

  function onSave() {
    save.mutate({
      workflowId: saved?.workflowId ?? null,
      parentVersionId: saved?.versionId ?? null,
      yaml: source,
      message: message || undefined,
      name: saved ? undefined : name || undefined,
    })
  }

  return (
    <span className="save-bar" data-testid="save-bar">
      {saved ? (
        <Link href={`/workflows/${saved.workflowId}`} data-testid="saved-workflow-link" title="history, diff, runs">
          {saved.name} · v{saved.number}
        </Link>
      ) : (
        <input
          aria-label="workflow name"
          data-testid="save-name"
          placeholder="workflow name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          size={18}
        />
      )}
      <input
        aria-label="version message"
        data-testid="save-message"
        placeholder="what changed?"
        value={message}
        onChange={(e) => setMessage(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && dirty && !save.isPending) onSave()
        }}
        size={18}
      />
      <button
        type="button"
        className="primary"
        data-testid="save-button"
        disabled={!dirty || save.isPending}
        onClick={onSave}
      >
        {save.isPending ? 'Saving…' : saved ? 'Save version' : 'Save'}
      </button>
      <span className="muted" data-testid="save-state">
        {dirty ? (saved ? 'unsaved changes' : 'not saved') : 'saved'}
      </span>
      {saved && !dirty ? <StartRunButton versionId={saved.versionId} disabled={!saved.valid} /> : null}
      {error ? (
        <span className="error" role="alert" data-testid="save-error">
          {error.message}
        </span>
      ) : null}
      {error?.conflict && saved ? (
        <>
          <button
            type="button"
            data-testid="conflict-reload"
            title="open the newest saved version here; your unsaved text is dropped"
            onClick={() => {
              setError(null)
              onReload(saved.workflowId)
            }}
          >
            Reload newest version
          </button>
          <button
            type="button"
            data-testid="conflict-save-copy"
            title="save this text as a new workflow; the other version stays as it is"
            disabled={save.isPending}
            onClick={onSaveCopy}
          >
            Save as a copy
          </button>
        </>
      ) : null}
    </span>
  )
}
