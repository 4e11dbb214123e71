'use client'

import dynamic from 'next/dynamic'
import { startTransition, useCallback, useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react'
import type { CompileResult, Problem } from '~/server/workflow'
import { compileAsync, compileSync } from './compileService'
import { PipelineGraph } from '../dag/PipelineGraph'
import { POOL_PALETTE } from '../dag/palette'
import { planToGraph, completionNames } from './planGraph'
import { buildStageIndex, isSyntaxProblem, stageAt } from './stageMapping'
import { useSiteCheck } from './useSiteCheck'
import { PlanPanel, type PlanTab } from './PlanPanel'
import type { CursorInfo, EditorApi, StageStripe } from './YamlEditor'
import './composer.css'

const YamlEditor = dynamic(() => import('./YamlEditor'), {
  ssr: false,
  loading: () => <div className="editor-loading">Loading editor…</div>,
})

export interface ComposerProps {
  /** the YAML the editor starts with (remount the Composer, e.g. with `key`, to load another) */
  initialSource: string
  /** shown in problems and used for the editor model (default `workflow.yaml`) */
  fileName?: string
  /** after every re-plan, with the source and its compile result */
  onChange?(source: string, result: CompileResult): void
  /** extra controls at the left of the composer's toolbar (e.g. a Save button) */
  toolbar?: ReactNode
}

interface Compiled {
  result: CompileResult
  ms: number
  syntax: boolean
}

/** Documents up to this size are compiled synchronously for the first paint; larger ones in the worker. */
const SYNC_FIRST_COMPILE_CHARS = 40_000

function failed(e: unknown): CompileResult {
  const zero = { line: 1, col: 1, offset: 0 }
  return {
    ok: false,
    plan: null,
    stageRanges: {},
    problems: [
      {
        code: 'internal-error',
        severity: 'error',
        message: `The compiler failed: ${e instanceof Error ? e.message : String(e)}`,
        range: { start: zero, end: zero },
        path: [],
      },
    ],
  }
}

function toCompiled(result: CompileResult, ms: number): Compiled {
  return { result, ms, syntax: result.problems.some(isSyntaxProblem) }
}

function compileNow(source: string, fileName: string): Compiled {
  try {
    const r = compileSync(source, fileName)
    return toCompiled(r.result, r.ms)
  } catch (e) {
    return toCompiled(failed(e), 0)
  }
}

const PENDING: Compiled = { result: { ok: true, plan: null, problems: [], stageRanges: {} }, ms: 0, syntax: false }

declare global {
  interface Window {
    /** test hook (Playwright): read and drive the composer */
    __composer?: {
      getValue(): string
      setValue(v: string): void
      getCursor(): CursorInfo | null
      setCursor(line: number, col: number): void
      markers(): { line: number; col: number; severity: 'error' | 'warning'; message: string; code: string }[]
      selectStage(id: string): void
      result(): CompileResult
      selectedStage(): string | null
    }
  }
}

/**
 * The workflow composer: Monaco YAML editor, live pool-coloured DAG, plan panel. Self-contained;
 * the page around it decides where the source comes from and what Save does.
 */
export function Composer({ initialSource, fileName = 'workflow.yaml', onChange, toolbar }: ComposerProps) {
  const [compiled, setCompiled] = useState<Compiled>(() =>
    initialSource.length <= SYNC_FIRST_COMPILE_CHARS ? compileNow(initialSource, fileName) : PENDING,
  )
  const [planning, setPlanning] = useState(compiled === PENDING)
  const [lastGood, setLastGood] = useState<Compiled | null>(() =>
    compiled.syntax || !compiled.result.plan ? null : compiled,
  )
  const [selectedId, setSelectedId] = useState<string | null>(null)
  const [tab, setTab] = useState<PlanTab>('routing')
  const [panelOpen, setPanelOpen] = useState(true)
  const apiRef = useRef<EditorApi | null>(null)
  const sourceRef = useRef(initialSource)
  /** the source `compiled` (and so the stage ranges) belongs to */
  const compiledSourceRef = useRef<string | null>(compiled === PENDING ? null : initialSource)
  /** the source of the last plan (the Submission tab previews it) */
  const [plannedSource, setPlannedSource] = useState(initialSource)
  /** a re-plan is queued for the end of this event-loop turn */
  const replanQueued = useRef(false)
  const editorBox = useRef<HTMLDivElement>(null)
  const cursorText = useRef<HTMLSpanElement>(null)
  const onChangeRef = useRef(onChange)
  onChangeRef.current = onChange
  const uid = useId().replace(/[^a-zA-Z0-9]/g, '')
  const modelPath = useMemo(() => {
    const base = /\.ya?ml$/.test(fileName) ? fileName : `${fileName}.yaml`
    return `file:///composer/${uid}/${base.replace(/^.*\//, '')}`
  }, [fileName, uid])

  // The site's problems (pools this host / cluster / Dask scheduler cannot give) beside the compiler's.
  const compiledOk = !!compiled.result.plan && !compiled.result.problems.some((p) => p.severity === 'error')
  const site = useSiteCheck(plannedSource, compiledOk)
  const problems = useMemo(
    () => (site.problems.length ? [...compiled.result.problems, ...site.problems] : compiled.result.problems),
    [compiled.result.problems, site.problems],
  )

  // What the graph and panel show: the current plan, or the last good one while the YAML is broken.
  const shown = compiled.syntax ? (lastGood ?? compiled) : compiled
  const plan = shown.result.plan
  const graph = useMemo(
    () => (plan ? planToGraph(plan, shown.result.problems, shown.result.stageRanges) : null),
    [plan, shown.result.problems, shown.result.stageRanges],
  )
  const stageIndex = useMemo(() => buildStageIndex(compiled.result.stageRanges), [compiled.result.stageRanges])
  const stageIndexRef = useRef(stageIndex)
  stageIndexRef.current = stageIndex
  const selectedRef = useRef(selectedId)
  selectedRef.current = selectedId

  const alive = useRef(true)
  useEffect(() => {
    alive.current = true
    return () => {
      alive.current = false
    }
  }, [])
  const replan = useCallback(() => {
    replanQueued.current = false
    const source = sourceRef.current
    // not urgent: the keystroke that queued this re-plan is not held up re-rendering the composer
    startTransition(() => setPlanning(true))
    compileAsync(source, fileName)
      .then((r) => {
        if (!r || !alive.current) return
        const next = toCompiled(r.result, r.ms)
        compiledSourceRef.current = source
        setCompiled(next)
        setPlannedSource(source)
        setPlanning(false)
        if (!next.syntax && next.result.plan) setLastGood(next)
        onChangeRef.current?.(source, next.result)
      })
      .catch((e) => {
        if (!alive.current) return
        setCompiled(toCompiled(failed(e), 0))
        setPlanning(false)
      })
  }, [fileName])
  // A large first document is planned in the worker.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, on mount: later texts are planned by the editor's change handler
  useEffect(() => {
    if (compiled === PENDING) replan()
  }, [])

  // No debounce: the compile runs in a worker that takes only the newest waiting text
  // (compileService), so fast typing never queues up and a keystroke is planned at once. The edits of
  // one event-loop turn (a paste, a multi-cursor edit) are planned once.
  const handleChange = useCallback(
    (value: string) => {
      sourceRef.current = value
      if (replanQueued.current) return
      replanQueued.current = true
      queueMicrotask(replan)
    },
    [replan],
  )

  /** Status bar + selection for a cursor position, against stage ranges of the current source. */
  const showCursor = useCallback((pos: CursorInfo, id: string | null) => {
    const box = editorBox.current
    if (box) {
      box.dataset.cursorLine = String(pos.line)
      box.dataset.cursorCol = String(pos.col)
      box.dataset.cursorStage = id ?? ''
    }
    if (cursorText.current)
      cursorText.current.textContent = `Ln ${pos.line}, Col ${pos.col}${id ? ` · stage ${id}` : ''}`
    if (id !== selectedRef.current) setSelectedId(id)
  }, [])
  const handleCursor = useCallback(
    (pos: CursorInfo) => {
      // While an edit waits to be re-planned, the stage ranges describe the old text (offsets after
      // the edit are shifted): keep the stage being typed in until the new ranges arrive.
      const stale = sourceRef.current !== compiledSourceRef.current
      showCursor(pos, stale ? selectedRef.current : stageAt(stageIndexRef.current, pos))
    },
    [showCursor],
  )

  const [editorReady, setEditorReady] = useState(0)
  const handleReady = useCallback((api: EditorApi) => {
    apiRef.current = api
    setEditorReady((n) => n + 1)
  }, [])

  // Push problems, pool stripes and completion names into the editor after every re-plan.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new plan (`compiled`) and an editor that just mounted (`editorReady`) are the triggers; the cursor helpers read refs
  useEffect(() => {
    const api = apiRef.current
    if (!api) return
    api.setProblems(problems)
    // The stage under the cursor may have changed with the new ranges (e.g. a stage was just typed).
    if (sourceRef.current !== compiledSourceRef.current) return
    const pos = api.getCursor()
    showCursor(pos, stageAt(stageIndexRef.current, pos))
  }, [compiled, problems, editorReady])
  // biome-ignore lint/correctness/useExhaustiveDependencies: `editorReady` is a trigger: an editor that just mounted gets the stripes of the current plan
  useEffect(() => {
    const api = apiRef.current
    if (!api || !plan || !graph) return
    const ranges = shown.result.stageRanges
    const stripes: StageStripe[] = []
    for (const s of plan.stages) {
      const r = ranges[s.id]
      if (!r) continue
      const slot = POOL_PALETTE.indexOf(graph.colors[s.pool] as (typeof POOL_PALETTE)[number])
      stripes.push({
        range: r,
        className: `pool-stripe pool-stripe-${Math.max(slot, 0)}`,
        hover: `${s.id} → ${s.pool}`,
      })
    }
    api.setStripes(stripes)
    api.setCompletionData(completionNames(plan))
  }, [plan, graph, shown.result.stageRanges, editorReady])

  const revealStage = useCallback(
    (id: string) => {
      setSelectedId(id)
      const r = compiled.result.stageRanges[id] ?? lastGood?.result.stageRanges[id]
      if (r) apiRef.current?.selectRange(r)
    },
    [compiled, lastGood],
  )
  const revealProblem = useCallback((p: Problem) => {
    apiRef.current?.selectRange({ start: p.range.start, end: p.range.start })
  }, [])

  // Test hook for Playwright (harmless in production: read/drive the composer like a user would).
  useEffect(() => {
    window.__composer = {
      getValue: () => apiRef.current?.getValue() ?? sourceRef.current,
      setValue: (v) => apiRef.current?.setValue(v),
      getCursor: () => apiRef.current?.getCursor() ?? null,
      setCursor: (line, col) => apiRef.current?.setCursor(line, col),
      markers: () => apiRef.current?.markers() ?? [],
      selectStage: revealStage,
      result: () => compiled.result,
      selectedStage: () => selectedRef.current,
    }
  }, [revealStage, compiled])
  useEffect(() => () => void delete window.__composer, [])

  const errors = problems.filter((p) => p.severity === 'error').length
  const warnings = problems.length - errors
  const firstSyntax = problems.find(isSyntaxProblem) ?? problems[0]

  return (
    <div
      className={`composer${panelOpen ? '' : ' panel-closed'}`}
      data-testid="composer"
      data-planning={planning ? 'true' : 'false'}
    >
      <div className="composer-toolbar">
        {toolbar}
        <span className="spacer" />
        <span
          className={`composer-status ${errors ? 'error' : warnings ? 'warning' : site.checking ? '' : 'ok'}`}
          data-testid="composer-status"
          data-site-checking={site.checking ? 'true' : 'false'}
        >
          {errors
            ? `${errors} error${errors === 1 ? '' : 's'}`
            : warnings
              ? ''
              : site.checking
                ? 'checking the site…'
                : 'plan ok'}
          {errors && warnings ? ' · ' : ''}
          {warnings ? `${warnings} warning${warnings === 1 ? '' : 's'}` : ''}
        </span>
        <button type="button" onClick={() => setPanelOpen((o) => !o)} data-testid="toggle-plan-panel">
          {panelOpen ? 'Hide plan' : 'Show plan'}
        </button>
      </div>
      <div className="composer-main">
        <div
          className="composer-editor"
          data-testid="composer-editor"
          ref={editorBox}
          data-cursor-line="1"
          data-cursor-col="1"
        >
          <div className="composer-editor-inner">
            <YamlEditor
              initialValue={initialSource}
              path={modelPath}
              onChange={handleChange}
              onCursor={handleCursor}
              onReady={handleReady}
            />
          </div>
          <div className="composer-editor-status">
            <span ref={cursorText} data-testid="cursor-status">
              Ln 1, Col 1
            </span>
            <span className="muted">
              {fileName} · {planning ? 'planning…' : `re-planned in ${compiled.ms.toFixed(1)} ms`}
            </span>
          </div>
        </div>
        <div className="composer-graph">
          {graph ? (
            <PipelineGraph
              nodes={graph.nodes}
              edges={graph.edges}
              legend={graph.legend}
              selectedId={selectedId}
              onNodeClick={revealStage}
              stale={compiled.syntax && lastGood != null}
              fitKey={modelPath}
              groupRepeats
              searchable
            >
              {compiled.syntax ? (
                <button
                  type="button"
                  className="syntax-banner"
                  data-testid="syntax-banner"
                  title={firstSyntax ? 'Show the error in the editor' : undefined}
                  onClick={() => firstSyntax && revealProblem(firstSyntax)}
                >
                  <strong>YAML does not parse</strong>
                  {firstSyntax ? ` (line ${firstSyntax.range.start.line}: ${firstSyntax.message})` : ''}
                  {lastGood ? ' · showing the last good graph' : ''}
                </button>
              ) : null}
            </PipelineGraph>
          ) : (
            <div className="graph-empty">
              {compiled.syntax ? (
                <div className="syntax-banner" data-testid="syntax-banner">
                  <strong>YAML does not parse</strong>
                  {firstSyntax ? ` (line ${firstSyntax.range.start.line}: ${firstSyntax.message})` : ''}
                </div>
              ) : null}
              <p className="muted">
                {compiled === PENDING ? 'Planning…' : 'No stages yet: add some under analysis.stages.'}
              </p>
            </div>
          )}
        </div>
      </div>
      {panelOpen ? (
        <PlanPanel
          plan={plan}
          problems={problems}
          colors={graph?.colors ?? {}}
          stale={compiled.syntax && lastGood != null}
          compileMs={compiled.ms}
          onProblemClick={revealProblem}
          onStageClick={revealStage}
          tab={tab}
          onTab={setTab}
          source={plannedSource}
        />
      ) : null}
    </div>
  )
}

export default Composer
