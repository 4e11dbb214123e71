'use client'
/**
 * /workflows/[id]: one workflow. History (every version with message, author, time, validity),
 * diff between any two versions (Monaco diff editor), rename, duplicate, archive, delete, export,
 * and "open in composer" or "run" on any version.
 */
import { useEffect, useMemo, useRef, useState } from 'react'
import Link from 'next/link'
import dynamic from 'next/dynamic'
import { useRouter } from 'next/navigation'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import { AccessError } from './WorkflowLibrary'
import { fullTime, MAX_IMPORT_BYTES, timeAgo } from './format'
import { useUnsavedChanges } from './useUnsavedChanges'
import { StartRunButton } from '~/components/run/StartRunButton'
import './library.css'

const YamlDiff = dynamic(() => import('./YamlDiff'), {
  ssr: false,
  loading: () => <p className="muted">Loading the diff editor…</p>,
})

export function WorkflowDetail({ id }: { id: string }) {
  const trpc = useTRPC()
  const router = useRouter()
  const queryClient = useQueryClient()
  const hist = useQuery(trpc.workflow.history.queryOptions({ id }))
  const versions = hist.data?.versions ?? []
  const wf = hist.data?.workflow

  // diff selection: previous version -> head, following new heads until the user picks versions
  const [fromId, setFromIdRaw] = useState<string | null>(null)
  const [toId, setToIdRaw] = useState<string | null>(null)
  const [followHead, setFollowHead] = useState(true)
  const setFromId = (v: string) => (setFollowHead(false), setFromIdRaw(v))
  const setToId = (v: string) => (setFollowHead(false), setToIdRaw(v))
  useEffect(() => {
    const [newest, previous = newest] = versions
    if (!newest || !previous) return
    if (followHead || !toId || !versions.some((v) => v.id === toId)) setToIdRaw(newest.id)
    if (followHead || !fromId || !versions.some((v) => v.id === fromId)) setFromIdRaw(previous.id)
  }, [versions, fromId, toId, followHead])

  const diff = useQuery({
    ...trpc.workflow.diff.queryOptions({ fromVersionId: fromId ?? '', toVersionId: toId ?? '' }),
    enabled: !!fromId && !!toId,
  })

  // rename (unsaved-change protection while editing)
  const [editing, setEditing] = useState(false)
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  const dirty = editing && !!wf && (name !== wf.name || description !== wf.description)
  useUnsavedChanges(dirty)

  const [error, setError] = useState<string | null>(null)
  const invalidate = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.workflow.history.queryKey({ id }) }),
      queryClient.invalidateQueries({ queryKey: trpc.workflow.list.queryKey() }),
    ])
  const onError = (e: { message: string }) => setError(e.message)
  const rename = useMutation(
    trpc.workflow.rename.mutationOptions({
      onSuccess: async () => {
        setEditing(false)
        setError(null)
        await invalidate()
      },
      onError,
    }),
  )
  const archive = useMutation(trpc.workflow.archive.mutationOptions({ onSuccess: () => invalidate(), onError }))
  const duplicate = useMutation(
    trpc.workflow.duplicate.mutationOptions({
      onSuccess: async (r) => {
        await invalidate()
        router.push(`/workflows/${r.workflow.id}`)
      },
      onError,
    }),
  )
  const del = useMutation(
    trpc.workflow.delete.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.workflow.list.queryKey() })
        router.push('/workflows')
      },
      onError,
    }),
  )

  // upload a new version (edited elsewhere): file -> message -> save with the head as parent
  const uploadInput = useRef<HTMLInputElement>(null)
  const [pending, setPending] = useState<{
    fileName: string
    yaml: string
    parentId: string
    parentNumber: number
  } | null>(null)
  const [message, setMessage] = useState('')
  const [uploadError, setUploadError] = useState<{ message: string; conflict: boolean } | null>(null)
  useUnsavedChanges(!!pending, 'The uploaded version is not saved yet. Leave this page and lose it?')
  const save = useMutation(
    trpc.workflow.saveVersion.mutationOptions({
      onSuccess: async (r) => {
        setPending(null)
        setMessage('')
        setUploadError(null)
        await invalidate()
        if (r.createdWorkflow) router.push(`/workflows/${r.workflow.id}`)
      },
      onError: (e) => setUploadError({ message: e.message, conflict: e.data?.code === 'CONFLICT' }),
    }),
  )

  const head = versions.find((v) => v.isHead) ?? versions[0]

  async function onUploadFile(e: React.ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0]
    e.target.value = ''
    if (!file || !head) return
    setUploadError(null)
    if (file.size > MAX_IMPORT_BYTES) {
      setUploadError({
        message: `file ${file.name} is ${(file.size / 1048576).toFixed(1)} MiB; the limit is 1.0 MiB`,
        conflict: false,
      })
      return
    }
    let yaml: string
    try {
      yaml = new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer())
    } catch {
      setUploadError({ message: `file ${file.name} is not UTF-8 text`, conflict: false })
      return
    }
    setPending({ fileName: file.name, yaml, parentId: head.id, parentNumber: head.number })
  }
  const toVersion = diff.data?.to
  const problems = useMemo(() => toVersion?.problems ?? [], [toVersion])

  if (hist.error) {
    return (
      <div className="lib-page">
        <p>
          <Link href="/workflows">← Workflows</Link>
        </p>
        <AccessError error={hist.error} />
      </div>
    )
  }
  if (hist.isPending || !wf) return <div className="lib-page muted">Loading…</div>

  return (
    <div className="lib-page" data-testid="workflow-detail">
      <p>
        <Link href="/workflows">← Workflows</Link>
      </p>
      <div className="lib-head">
        {editing ? (
          <form
            className="lib-rename"
            onSubmit={(e) => {
              e.preventDefault()
              rename.mutate({ id, name, description })
            }}
          >
            <input
              value={name}
              onChange={(e) => setName(e.target.value)}
              aria-label="Workflow name"
              maxLength={200}
              // biome-ignore lint/a11y/noAutofocus: the field appears because the user pressed Edit: focus goes where they asked to type
              autoFocus
            />
            <textarea
              value={description}
              onChange={(e) => setDescription(e.target.value)}
              aria-label="Description"
              placeholder="Description"
              maxLength={5000}
            />
            <button type="submit" className="primary" disabled={rename.isPending || !name.trim()}>
              Save name
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <>
            <h1 data-testid="workflow-name">
              {wf.name} {wf.archived && <span className="badge">archived</span>}
            </h1>
            <div className="lib-actions">
              {head && (
                <Link
                  className="button primary"
                  href={`/compose?workflow=${id}&version=${head.id}`}
                  data-testid="open-in-composer"
                >
                  Open in composer
                </Link>
              )}
              {head && <StartRunButton versionId={head.id} disabled={!head.valid || wf.archived} />}
              <Link className="button" href={`/runs?workflow=${id}`} data-testid="workflow-runs-link">
                Runs
              </Link>
              <button
                type="button"
                onClick={() => {
                  setName(wf.name)
                  setDescription(wf.description)
                  setEditing(true)
                }}
              >
                Rename
              </button>
              <button
                type="button"
                onClick={() => uploadInput.current?.click()}
                disabled={!!pending}
                data-testid="upload-version-button"
              >
                Upload new version
              </button>
              <input
                ref={uploadInput}
                type="file"
                accept=".yaml,.yml,application/yaml,text/yaml"
                hidden
                onChange={onUploadFile}
                data-testid="upload-version-input"
              />
              <button type="button" onClick={() => duplicate.mutate({ id })} disabled={duplicate.isPending}>
                Duplicate
              </button>
              {head && (
                <a
                  className="button"
                  href={`/workflows/${id}/export?version=${head.id}`}
                  download
                  data-testid="export-link"
                >
                  Export .yaml
                </a>
              )}
              <button
                type="button"
                onClick={() => archive.mutate({ id, archived: !wf.archived })}
                disabled={archive.isPending}
              >
                {wf.archived ? 'Unarchive' : 'Archive'}
              </button>
              <button
                type="button"
                onClick={() => {
                  if (
                    window.confirm(
                      `Delete "${wf.name}"? Runs keep their versions; the workflow disappears from the library.`,
                    )
                  )
                    del.mutate({ id })
                }}
                disabled={del.isPending}
              >
                Delete
              </button>
            </div>
          </>
        )}
      </div>
      {!editing && wf.description && <p className="lib-desc">{wf.description}</p>}
      <p className="muted">
        {wf.owner ? `Owner ${wf.owner} · ` : ''}created {timeAgo(wf.createdAt)} · {wf.versionCount} version
        {wf.versionCount === 1 ? '' : 's'}
        {wf.lastRun ? ` · last run ${wf.lastRun.state}` : ''}
      </p>
      {error && (
        <div className="lib-alert" role="alert">
          {error}
        </div>
      )}
      {pending && (
        <form
          className="lib-note lib-rename"
          data-testid="upload-version-form"
          onSubmit={(e) => {
            e.preventDefault()
            save.mutate({ workflowId: id, parentVersionId: pending.parentId, yaml: pending.yaml, message })
          }}
        >
          <span>
            {pending.fileName} as a new version after v{pending.parentNumber}:
          </span>
          <input
            value={message}
            onChange={(e) => setMessage(e.target.value)}
            placeholder="What changed?"
            aria-label="Version message"
            maxLength={2000}
          />
          <button type="submit" className="primary" disabled={save.isPending} data-testid="upload-version-save">
            Save version
          </button>
          <button
            type="button"
            onClick={() => {
              setPending(null)
              setUploadError(null)
            }}
          >
            Discard
          </button>
        </form>
      )}
      {uploadError && (
        <div className="lib-alert" role="alert" data-testid="upload-error">
          {uploadError.message}
          {uploadError.conflict && pending && (
            <span className="lib-actions" style={{ marginTop: 8 }}>
              <button
                type="button"
                data-testid="reload-after-conflict"
                onClick={() => {
                  setPending(null)
                  setUploadError(null)
                  void invalidate()
                }}
              >
                Reload (drop my upload)
              </button>
              <button
                type="button"
                data-testid="save-as-copy"
                onClick={() =>
                  save.mutate({
                    yaml: pending.yaml,
                    name: `${wf.name} (copy)`,
                    message: message || `Copy of an edit of "${wf.name}" v${pending.parentNumber}`,
                  })
                }
              >
                Save as a copy
              </button>
            </span>
          )}
        </div>
      )}

      <section className="lib-section">
        <h2>History</h2>
        <table className="lib-history" data-testid="history">
          <thead>
            <tr>
              <th>Version</th>
              <th>Message</th>
              <th>Author</th>
              <th>Saved</th>
              <th>Status</th>
              <th>Compare</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.id} data-testid="history-row" data-version={v.number}>
                <td>
                  v{v.number} {v.isHead && <span className="badge head">head</span>}
                </td>
                <td className="msg" title={v.message}>
                  {v.message || <span className="muted">(no message)</span>}
                </td>
                <td>{v.author}</td>
                <td title={fullTime(v.createdAt)}>{timeAgo(v.createdAt)}</td>
                <td>
                  {v.valid ? (
                    <span className="badge valid">
                      valid{v.warningCount ? ` · ${v.warningCount} warning${v.warningCount === 1 ? '' : 's'}` : ''}
                    </span>
                  ) : (
                    <span className="badge invalid">
                      invalid · {v.errorCount} error{v.errorCount === 1 ? '' : 's'}
                    </span>
                  )}
                  {v.runCount > 0 && (
                    <span className="badge">
                      {v.runCount} run{v.runCount === 1 ? '' : 's'}
                    </span>
                  )}
                </td>
                <td>
                  <label title="compare from (old side)">
                    <input
                      type="radio"
                      name="diff-from"
                      checked={fromId === v.id}
                      onChange={() => setFromId(v.id)}
                      aria-label={`compare from v${v.number}`}
                    />{' '}
                    A
                  </label>{' '}
                  <label title="compare to (new side)">
                    <input
                      type="radio"
                      name="diff-to"
                      checked={toId === v.id}
                      onChange={() => setToId(v.id)}
                      aria-label={`compare to v${v.number}`}
                    />{' '}
                    B
                  </label>
                </td>
                <td>
                  <span className="lib-actions">
                    <Link href={`/compose?workflow=${id}&version=${v.id}`}>open</Link>
                    <a href={`/workflows/${id}/export?version=${v.id}`} download>
                      export
                    </a>
                    {/* run this very version (not the head): its preflight problems show here first */}
                    <span data-testid={`history-run-v${v.number}`} title={`run v${v.number}`}>
                      <StartRunButton versionId={v.id} disabled={!v.valid || wf.archived} />
                    </span>
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section className="lib-section">
        <h2>Diff</h2>
        <div className="lib-diff-bar">
          <label>
            A{' '}
            <select value={fromId ?? ''} onChange={(e) => setFromId(e.target.value)} aria-label="Diff from version">
              {versions.map((v) => (
                <option key={v.id} value={v.id}>
                  v{v.number}
                  {v.message ? ` · ${v.message.slice(0, 40)}` : ''}
                </option>
              ))}
            </select>
          </label>
          <span>→</span>
          <label>
            B{' '}
            <select value={toId ?? ''} onChange={(e) => setToId(e.target.value)} aria-label="Diff to version">
              {versions.map((v) => (
                <option key={v.id} value={v.id}>
                  v{v.number}
                  {v.message ? ` · ${v.message.slice(0, 40)}` : ''}
                </option>
              ))}
            </select>
          </label>
          {diff.data && (
            <span className="lib-diff-summary" data-testid="diff-summary">
              {diff.data.from.id === diff.data.to.id ? (
                versions.length === 1 ? (
                  'only one version so far: save another to compare'
                ) : (
                  'the same version on both sides'
                )
              ) : diff.data.diff.identical ? (
                `v${diff.data.from.number} and v${diff.data.to.number} are identical`
              ) : (
                <>
                  v{diff.data.from.number} → v{diff.data.to.number}:{' '}
                  <span className="add">+{diff.data.diff.added}</span>{' '}
                  <span className="del">−{diff.data.diff.removed}</span> lines in {diff.data.diff.hunks.length} change
                  {diff.data.diff.hunks.length === 1 ? '' : 's'}
                </>
              )}
            </span>
          )}
        </div>
        {diff.error ? (
          <AccessError error={diff.error} />
        ) : diff.data ? (
          <>
            <YamlDiff
              original={diff.data.from.yaml}
              modified={diff.data.to.yaml}
              originalId={diff.data.from.id}
              modifiedId={diff.data.to.id}
            />
            {problems.length > 0 && (
              <div className="lib-note" data-testid="version-problems">
                Problems in v{diff.data.to.number}:
                <ul className="lib-problems">
                  {problems.map((p, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: one diff's problems, replaced whole and never reordered; two may read alike
                    <li key={i} className={p.severity === 'error' ? 'error' : 'warning'}>
                      line {p.range.start.line}: {p.message}
                    </li>
                  ))}
                </ul>
              </div>
            )}
          </>
        ) : (
          <p className="muted">Loading…</p>
        )}
      </section>
    </div>
  )
}
