'use client'
/**
 * "Run" for a saved workflow version: asks `run.preview` first (preflight: e.g. a pool this host
 * cannot satisfy, an unknown op, no Slurm here) and shows the problems; errors block the start.
 * Otherwise it `run.start`s and opens /runs/<id>; warnings (e.g. CPUs shared) travel to the run page
 * (sessionStorage) and are shown there.
 *
 * "Parameters" opens run parameters for THIS run only (`Stage.param = value`, `execution.key =
 * value`, one per line): with any given, the run starts through `overview.launch`, which applies them
 * to the version, compiles again (a bad value is refused with the compiler's message) and records
 * them on the run (the run page shows them).
 *
 *   <StartRunButton versionId={head.id} disabled={!head.valid} />
 */
import { useRouter } from 'next/navigation'
import { useId, useState } from 'react'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { TRPCClientError } from '@trpc/client'
import { useTRPC } from '~/components/trpc/client'
import type { RunPreview } from './types'
import { parseParameterLines } from '~/server/operations/parameterLines'
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
  const [showParams, setShowParams] = useState(false)
  const [paramText, setParamText] = useState('')
  const parsed = parseParameterLines(paramText)
  const paramsId = `run-params-${useId().replace(/:/g, '')}`

  const onStarted = (r: {
    runId: string
    warnings?: { pool: string | null; message: string; hint?: string | null }[]
  }) => {
    if (r.warnings?.length) rememberWarnings(r.runId, r.warnings as Problem[])
    void queryClient.invalidateQueries({ queryKey: trpc.run.list.pathKey() })
    router.push(`/runs/${r.runId}`)
  }
  const onStartError = (e: unknown) => {
    const p = problemsOf(e)
    if (p?.length) setProblems(p)
    setError((e as Error).message)
  }
  const start = useMutation(trpc.run.start.mutationOptions({ onSuccess: onStarted, onError: onStartError }))
  const launch = useMutation(trpc.overview.launch.mutationOptions({ onSuccess: onStarted, onError: onStartError }))

  async function onClick() {
    setError(null)
    setProblems(null)
    if (showParams && parsed.parameters.length) {
      if (parsed.problems.length) return
      launch.mutate({ versionId, parameters: parsed.parameters })
      return
    }
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

  const busy = checking || start.isPending || start.isSuccess || launch.isPending || launch.isSuccess
  const withParams = showParams && parsed.parameters.length > 0
  const blocking = problems?.some((p) => p.severity === 'error') ?? false
  return (
    <span className="start-run" data-testid="start-run">
      <button
        type="button"
        className="primary"
        onClick={() => void onClick()}
        disabled={disabled || busy || (showParams && parsed.problems.length > 0)}
        data-testid="start-run-button"
        title={withParams ? 'Start a run with these parameters' : 'Check the plan on this host, then start a run'}
      >
        {checking
          ? 'Checking…'
          : start.isPending || start.isSuccess || launch.isPending || launch.isSuccess
            ? 'Starting…'
            : withParams
              ? `▶ Run with ${parsed.parameters.length} parameter${parsed.parameters.length === 1 ? '' : 's'}`
              : '▶ Run'}
      </button>
      <button
        type="button"
        aria-expanded={showParams}
        aria-controls={paramsId}
        onClick={() => setShowParams((v) => !v)}
        data-testid="run-params-toggle"
        disabled={disabled}
      >
        Parameters…
      </button>
      {showParams ? (
        <div className="run-params" id={paramsId} data-testid="run-params">
          <label htmlFor={`${paramsId}-text`}>Run parameters for this run only, one per line</label>
          <textarea
            id={`${paramsId}-text`}
            rows={4}
            spellCheck={false}
            value={paramText}
            onChange={(e) => setParamText(e.target.value)}
            placeholder={'Select.cut = "pt > 30"\nexecution.pools.default.workers = 4'}
            aria-describedby={`${paramsId}-help`}
            data-testid="run-params-text"
          />
          <span id={`${paramsId}-help`} className="muted">
            <code>Stage.param = value</code> overrides a stage's params, <code>execution.key = value</code> any
            execution key; values are YAML. They are recorded on the run; the saved version is unchanged.
          </span>
          {parsed.problems.length ? (
            <ul className="error" role="alert" data-testid="run-params-problems">
              {parsed.problems.map((p) => (
                <li key={p.line}>
                  line {p.line}: {p.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {problems?.length ? (
        <div
          className={`start-run-problems${blocking ? ' blocking' : ''}`}
          role="alert"
          data-testid="start-run-problems"
        >
          <strong>{blocking ? 'This run cannot start:' : 'Before you start:'}</strong>
          <ul>
            {problems.map((p, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: one answer's problems, replaced whole and never reordered; two may read alike
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
