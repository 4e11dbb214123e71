'use client'
/**
 * /workflows: the library. Search, filters (valid/invalid, backend, last run state, archived),
 * import of a .yaml file, links to each workflow and to the composer.
 */
import { useRef, useState } from 'react'
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useTRPC, httpStatusOf } from '~/components/trpc/client'
import { fileToBase64, fullTime, MAX_IMPORT_BYTES, timeAgo } from './format'
import { useDebounced } from '~/components/ui/useDebounced'
import type { RunState } from '~/server/execution/vocabulary'
import './library.css'

/** the last-run filter: no run yet, or a run state (server/execution/vocabulary.ts) */
const RUN_STATES = ['none', 'pending', 'running', 'succeeded', 'failed', 'cancelled'] as const satisfies readonly (
  | 'none'
  | RunState
)[]

export function AccessError({ error }: { error: unknown }) {
  const status = httpStatusOf(error)
  if (status === 401) {
    return (
      <div className="lib-alert" role="alert">
        Your access to this server is missing or expired: open the URL printed when the server started (…/?token=…) or
        log in again.
      </div>
    )
  }
  return (
    <div className="lib-alert" role="alert">
      {(error as Error)?.message ?? String(error)}
    </div>
  )
}

export function WorkflowLibrary() {
  const trpc = useTRPC()
  const router = useRouter()
  const queryClient = useQueryClient()
  const [search, setSearch] = useState('')
  const [validity, setValidity] = useState<'all' | 'valid' | 'invalid'>('all')
  const [backend, setBackend] = useState('')
  const [lastRunState, setLastRunState] = useState('')
  const [archived, setArchived] = useState<'active' | 'all' | 'archived'>('active')
  const [importError, setImportError] = useState<string | null>(null)
  const fileInput = useRef<HTMLInputElement>(null)
  const q = useDebounced(search.trim(), 250)

  const input = {
    ...(q ? { search: q } : {}),
    ...(validity !== 'all' ? { valid: validity === 'valid' } : {}),
    ...(backend ? { backend } : {}),
    ...(lastRunState ? { lastRunState } : {}),
    ...(archived === 'all' ? { includeArchived: true } : archived === 'archived' ? { archivedOnly: true } : {}),
  }
  const list = useQuery(trpc.workflow.list.queryOptions(input))
  const importMut = useMutation(
    trpc.workflow.import.mutationOptions({
      onSuccess: async (res) => {
        await queryClient.invalidateQueries({ queryKey: trpc.workflow.list.queryKey() })
        router.push(`/workflows/${res.workflow.id}`)
      },
      onError: (e) => setImportError(e.message),
    }),
  )

  async function onFile(e: React.ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0]
    e.target.value = ''
    if (!file) return
    setImportError(null)
    if (file.size > MAX_IMPORT_BYTES) {
      setImportError(`file ${file.name} is ${(file.size / 1048576).toFixed(1)} MiB; the limit is 1.0 MiB`)
      return
    }
    importMut.mutate({ fileName: file.name, contentBase64: await fileToBase64(file) })
  }

  const items = list.data?.items ?? []
  const filtered = q || validity !== 'all' || backend || lastRunState || archived !== 'active'

  return (
    <div className="lib-page">
      <div className="lib-head">
        <h1>Workflows</h1>
        <button
          type="button"
          onClick={() => fileInput.current?.click()}
          disabled={importMut.isPending}
          data-testid="import-button"
        >
          {importMut.isPending ? 'Importing…' : 'Import .yaml'}
        </button>
        <input
          ref={fileInput}
          type="file"
          accept=".yaml,.yml,application/yaml,text/yaml"
          hidden
          onChange={onFile}
          data-testid="import-input"
        />
        <Link className="button primary" href="/compose">
          New workflow
        </Link>
      </div>
      {importError && (
        <div className="lib-alert" role="alert" data-testid="import-error">
          Import failed: {importError}
        </div>
      )}
      <div className="lib-filters">
        <input
          type="search"
          placeholder="Search by name or description"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          aria-label="Search workflows"
        />
        <label>
          Validity
          <select
            value={validity}
            onChange={(e) => setValidity(e.target.value as typeof validity)}
            aria-label="Validity"
          >
            <option value="all">all</option>
            <option value="valid">valid</option>
            <option value="invalid">invalid</option>
          </select>
        </label>
        <label>
          Backend
          <select value={backend} onChange={(e) => setBackend(e.target.value)} aria-label="Backend">
            <option value="">any</option>
            <option value="local">local</option>
            <option value="dask">dask</option>
          </select>
        </label>
        <label>
          Last run
          <select value={lastRunState} onChange={(e) => setLastRunState(e.target.value)} aria-label="Last run state">
            <option value="">any</option>
            {RUN_STATES.map((s) => (
              <option key={s} value={s}>
                {s === 'none' ? 'never run' : s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Show
          <select
            value={archived}
            onChange={(e) => setArchived(e.target.value as typeof archived)}
            aria-label="Archived"
          >
            <option value="active">active</option>
            <option value="all">active + archived</option>
            <option value="archived">archived only</option>
          </select>
        </label>
      </div>

      {list.error ? (
        <AccessError error={list.error} />
      ) : list.isPending ? (
        <p className="muted">Loading…</p>
      ) : items.length === 0 ? (
        <div className="lib-empty" data-testid="library-empty">
          {filtered ? (
            'No workflow matches these filters.'
          ) : (
            <>
              No workflows yet. <Link href="/compose">Compose one</Link> or import a .yaml file.
            </>
          )}
        </div>
      ) : (
        <table className="lib-table" data-testid="workflow-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Version</th>
              <th>Status</th>
              <th>Backend / strategy</th>
              <th>Last run</th>
              <th>Updated</th>
              <th>Owner</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((w) => (
              <tr
                key={w.id}
                className={w.archived ? 'archived' : ''}
                data-testid="workflow-row"
                data-workflow-id={w.id}
              >
                <td>
                  <Link href={`/workflows/${w.id}`}>{w.name}</Link>{' '}
                  {w.archived && <span className="badge">archived</span>}
                  {w.description && <div className="muted">{w.description.slice(0, 120)}</div>}
                </td>
                <td>v{w.head?.number ?? '–'}</td>
                <td>
                  {w.head ? (
                    w.head.valid ? (
                      <span className="badge valid">valid</span>
                    ) : (
                      <span className="badge invalid" title={`${w.head.errorCount} error(s)`}>
                        invalid
                      </span>
                    )
                  ) : null}
                </td>
                <td className="mono">{w.head?.backend ? `${w.head.backend} / ${w.head.strategy}` : '–'}</td>
                <td>
                  {w.lastRun ? (
                    <span className={`badge state-${w.lastRun.state}`}>{w.lastRun.state}</span>
                  ) : (
                    <span className="muted">never</span>
                  )}
                </td>
                <td title={fullTime(w.updatedAt)}>{timeAgo(w.updatedAt)}</td>
                <td>{w.owner ?? ''}</td>
                <td>
                  {w.head && (
                    <Link href={`/compose?workflow=${w.id}&version=${w.head.id}`} className="button">
                      Open in composer
                    </Link>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.data && list.data.total > items.length && (
        <p className="muted">
          Showing {items.length} of {list.data.total}.
        </p>
      )}
    </div>
  )
}
