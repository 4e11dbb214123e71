'use client'
/**
 * "Run" for a saved workflow version: asks `run.preview` first (preflight: e.g. a pool this host
 * cannot satisfy, an unknown op, no Slurm here) and shows the problems; errors block the start.
 * Otherwise it `run.start`s and opens /runs/<id>; warnings (e.g. CPUs shared) travel to the run page
 * (sessionStorage) and are shown there.
 *
 *   <StartRunButton versionId={head.id} disabled={!head.valid} />
 */
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { TRPCClientError } from '@trpc/client'
import { useTRPC } from '~/components/trpc/client'
import type { RunPreview } from './types'
import './run.css'

type Problem = RunPreview['problems'][number]

const WARNINGS_KEY = (runId: string) => `controlroom.run.warnings.${runId}`

function rememberWarnings(runId: string, warnings: Problem[]) {
  try {
    sessionStorage.setItem(
      WARNINGS_KEY(runId),
      JSON.stringify(warnings.map((w) => ({ pool: w.pool, message: w.message, hint: w.hint ?? null }))),
    )
  } catch {
    /* storage unavailable: the warnings are just not carried over */
  }
}

/** the preflight warnings of a run started from this tab (read once by the run page) */
export function takeStartWarnings(runId: string): { pool: string | null; message: string; hint: string | null }[] {
  try {
    const raw = sessionStorage.getItem(WARNINGS_KEY(runId))
    return raw ? (JSON.parse(raw) as { pool: string | null; message: string; hint: string | null }[]) : []
  } catch {
    return []
  }
}

export interface StartRunButtonProps {
  versionId: string
  disabled?: boolean
}

function problemsOf(e: unknown): Problem[] | null {
  if (e instanceof TRPCClientError) {
    const p = (e.data as { details?: { problems?: Problem[] } } | undefined)?.details?.problems
    if (Array.isArray(p)) return p
  }
  return null
}

export function StartRunButton({ versionId, disabled }: StartRunButtonProps) {
  const trpc = useTRPC()
  const queryClient = useQueryClient()
  const router = useRouter()
  const [checking, setChecking] = useState(false)
  const [problems, setProblems] = useState<Problem[] | null>(null)
  const [error, setError] = useState<string | null>(null)

  const start = useMutation(
    trpc.run.start.mutationOptions({
      onSuccess: (r) => {
        if (r.warnings?.length) rememberWarnings(r.runId, r.warnings)
        void queryClient.invalidateQueries({ queryKey: trpc.run.list.pathKey() })
        router.push(`/runs/${r.runId}`)
      },
      onError: (e) => {
        const p = problemsOf(e)
        if (p?.length) setProblems(p)
        setError(e.message)
      },
    }),
  )

  async function onClick() {
    setError(null)
    setProblems(null)
    setChecking(true)
    try {
      const preview = await queryClient.fetchQuery({ ...trpc.run.preview.queryOptions({ versionId }), staleTime: 0 })
      const errors = preview.problems.filter((p) => p.severity === 'error')
      if (errors.length) setProblems(preview.problems)
      else start.mutate({ versionId })
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setChecking(false)
    }
  }

  const busy = checking || start.isPending || start.isSuccess
  const blocking = problems?.some((p) => p.severity === 'error') ?? false
  return (
    <span className="start-run" data-testid="start-run">
      <button
        type="button"
        className="primary"
        onClick={() => void onClick()}
        disabled={disabled || busy}
        data-testid="start-run-button"
        title="Check the plan on this host, then start a run"
      >
        {checking ? 'Checking…' : start.isPending || start.isSuccess ? 'Starting…' : '▶ Run'}
      </button>
      {problems?.length ? (
        <div
          className={`start-run-problems${blocking ? ' blocking' : ''}`}
          role="alert"
          data-testid="start-run-problems"
        >
          <strong>{blocking ? 'This run cannot start:' : 'Before you start:'}</strong>
          <ul>
            {problems.map((p, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: pre-existing: review when this component is next changed
              <li key={i} className={p.severity} data-code={p.code}>
                {p.pool ? <span className="badge">pool {p.pool}</span> : null} {p.message}
                {p.hint ? <span className="muted"> — {p.hint}</span> : null}
              </li>
            ))}
          </ul>
          <span className="start-run-actions">
            {!blocking ? (
              <button
                type="button"
                className="primary"
                onClick={() => start.mutate({ versionId })}
                disabled={busy}
                data-testid="start-run-anyway"
              >
                Start anyway
              </button>
            ) : null}
            <button type="button" onClick={() => setProblems(null)}>
              Close
            </button>
          </span>
        </div>
      ) : null}
      {error && !problems?.length ? (
        <span className="error start-run-error" role="alert">
          {error}
        </span>
      ) : null}
    </span>
  )
}
