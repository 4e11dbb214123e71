'use client'

import { memo, useEffect, useRef, useState } from 'react'
import Editor, { type OnMount } from '@monaco-editor/react'
import { monacoThemeName } from '~/components/ui/monacoTheme'
import type { Problem, SourceRange } from '~/server/workflow'
import { monaco, setupMonaco, setCompletionData, clearCompletionData, type CompletionData } from './monacoSetup'

setupMonaco()

export interface CursorInfo {
  line: number
  col: number
  offset: number
  /** first non-blank column of the cursor's line; 0 when the line is blank */
  indentCol?: number
}

export interface StageStripe {
  range: SourceRange
  /** CSS class (pool colour stripe) */
  className: string
  hover?: string
}

/** Imperative handle the composer drives (Monaco stays uncontrolled: no re-render per keystroke). */
export interface EditorApi {
  getValue(): string
  setValue(value: string): void
  setProblems(problems: readonly Problem[]): void
  setStripes(stripes: readonly StageStripe[]): void
  setCompletionData(data: CompletionData): void
  selectRange(range: SourceRange): void
  getCursor(): CursorInfo
  setCursor(line: number, col: number): void
  markers(): { line: number; col: number; severity: 'error' | 'warning'; message: string; code: string }[]
  focus(): void
}

export interface YamlEditorProps {
  initialValue: string
  /** model path; must end in .yaml for the schema */
  path: string
  onChange(value: string): void
  onCursor(pos: CursorInfo): void
  onReady(api: EditorApi): void
}

/** Above this size the minimap is off (the DAG is the overview; typing stays cheaper). */
const LARGE_DOC_CHARS = 30_000

const toMonacoRange = (r: SourceRange) => new monaco.Range(r.start.line, r.start.col, r.end.line, r.end.col)

function YamlEditorImpl({ initialValue, path, onChange, onCursor, onReady }: YamlEditorProps) {
  const cbs = useRef({ onChange, onCursor, onReady })
  cbs.current = { onChange, onCursor, onReady }
  const uriRef = useRef<string | null>(null)

  useEffect(
    () => () => {
      if (uriRef.current) clearCompletionData(uriRef.current)
    },
    [],
  )

  const handleMount: OnMount = (editor) => {
    const model = editor.getModel()!
    model.updateOptions({ tabSize: 2, insertSpaces: true })
    const uri = model.uri.toString()
    uriRef.current = uri
    // A document pasted in can turn large (or small) after mount: follow its size.
    let large = model.getValueLength() >= LARGE_DOC_CHARS
    model.onDidChangeContent(() => {
      const now = model.getValueLength() >= LARGE_DOC_CHARS
      if (now === large) return
      large = now
      editor.updateOptions({ minimap: { enabled: !large }, stickyScroll: { enabled: !large } })
    })
    const stripes = editor.createDecorationsCollection()
    let stripesSig = ''
    editor.onDidChangeCursorPosition((e) => {
      const m = editor.getModel()
      if (!m) return
      cbs.current.onCursor({
        line: e.position.lineNumber,
        col: e.position.column,
        offset: m.getOffsetAt(e.position),
        indentCol: m.getLineFirstNonWhitespaceColumn(e.position.lineNumber),
      })
    })
    const api: EditorApi = {
      getValue: () => editor.getValue(),
      setValue: (v) => {
        // keep undo history: replace the whole text as one edit
        const m = editor.getModel()!
        editor.executeEdits('composer', [{ range: m.getFullModelRange(), text: v }])
        editor.pushUndoStop()
      },
      setProblems: (problems) => {
        const m = editor.getModel()
        if (!m) return
        monaco.editor.setModelMarkers(
          m,
          'fasthep',
          problems.map((p) => {
            let endLine = p.range.end.line
            let endCol = p.range.end.col
            if (endLine === p.range.start.line && endCol <= p.range.start.col) {
              // zero-width range: underline the word (or one character) there
              const w = m.getWordAtPosition({ lineNumber: p.range.start.line, column: p.range.start.col })
              endCol = w ? Math.max(w.endColumn, p.range.start.col + 1) : p.range.start.col + 1
              endLine = p.range.start.line
            }
            return {
              severity: p.severity === 'error' ? monaco.MarkerSeverity.Error : monaco.MarkerSeverity.Warning,
              message: p.hint ? `${p.message}\n${p.hint}` : p.message,
              code: p.code,
              source: 'fasthep',
              startLineNumber: p.range.start.line,
              startColumn: p.range.start.col,
              endLineNumber: endLine,
              endColumn: endCol,
            }
          }),
        )
      },
      setStripes: (items) => {
        let sig = ''
        for (const it of items) sig += `${it.range.start.line}-${it.range.end.line}:${it.className};`
        if (sig === stripesSig) return
        stripesSig = sig
        stripes.set(
          items.map((s) => ({
            range: toMonacoRange(s.range),
            options: { isWholeLine: true, linesDecorationsClassName: s.className, linesDecorationsTooltip: s.hover },
          })),
        )
      },
      setCompletionData: (d) => setCompletionData(uri, d),
      selectRange: (r) => {
        // anchor at the end, cursor at the start: the cursor lands on the stage's first line
        editor.setSelection(new monaco.Selection(r.end.line, r.end.col, r.start.line, r.start.col))
        editor.revealLinesInCenterIfOutsideViewport(
          r.start.line,
          Math.min(r.end.line, r.start.line + 20),
          monaco.editor.ScrollType.Smooth,
        )
        editor.focus()
      },
      getCursor: () => {
        const p = editor.getPosition() ?? { lineNumber: 1, column: 1 }
        const m = editor.getModel()
        return {
          line: p.lineNumber,
          col: p.column,
          offset: m?.getOffsetAt(p) ?? 0,
          indentCol: m?.getLineFirstNonWhitespaceColumn(p.lineNumber) ?? 0,
        }
      },
      setCursor: (line, col) => {
        editor.setPosition({ lineNumber: line, column: col })
        editor.revealLineInCenterIfOutsideViewport(line)
        editor.focus()
      },
      markers: () =>
        monaco.editor.getModelMarkers({ resource: editor.getModel()!.uri, owner: 'fasthep' }).map((m) => ({
          line: m.startLineNumber,
          col: m.startColumn,
          severity: m.severity === monaco.MarkerSeverity.Error ? ('error' as const) : ('warning' as const),
          message: m.message,
          code: typeof m.code === 'string' ? m.code : (m.code?.value ?? ''),
        })),
      focus: () => editor.focus(),
    }
    cbs.current.onReady(api)
  }

  // One options object for the editor's life: @monaco-editor/react applies `options` again whenever
  // its identity changes, which re-enabled the minimap and sticky scroll (an outline of the whole
  // document rebuilt per keystroke) after every re-plan of a large document pasted in.
  const [options] = useState<monaco.editor.IStandaloneEditorConstructionOptions>(() => ({
    fontSize: 13,
    minimap: { enabled: initialValue.length < LARGE_DOC_CHARS, renderCharacters: false },
    // sticky scroll rebuilds an outline of the whole document (from the YAML worker's symbols)
    // after every edit: hundreds of ms of main-thread work per keystroke in a 2,000-stage file
    stickyScroll: { enabled: initialValue.length < LARGE_DOC_CHARS },
    bracketPairColorization: { enabled: false },
    guides: { bracketPairs: false, indentation: true },
    scrollBeyondLastLine: false,
    automaticLayout: true,
    tabSize: 2,
    insertSpaces: true,
    lineDecorationsWidth: 8,
    quickSuggestions: { other: true, strings: true, comments: false },
    wordBasedSuggestions: 'off',
    fixedOverflowWidgets: true,
    renderWhitespace: 'none',
    occurrencesHighlight: 'off',
    // Each of these asks monaco-yaml's worker about the document after every edit, and that worker
    // parses the whole text again (~100 ms of CPU for 2,000 stages), competing with the compile
    // worker on small machines: folding by indentation is computed here, cheaply; YAML workflows
    // have no links, and no code actions (the compiler's problems carry their hints).
    foldingStrategy: 'indentation',
    links: false,
    lightbulb: { enabled: monaco.editor.ShowLightbulbIconMode.Off },
  }))
  return (
    <Editor
      height="100%"
      language="yaml"
      theme={monacoThemeName()}
      path={path}
      defaultValue={initialValue}
      onChange={(v) => cbs.current.onChange(v ?? '')}
      onMount={handleMount}
      loading={<div className="editor-loading">Loading editor…</div>}
      options={options}
    />
  )
}

/** Memoised: the composer re-renders on every re-plan; the editor (uncontrolled) has nothing to redo. */
const YamlEditor = memo(YamlEditorImpl)
export default YamlEditor
