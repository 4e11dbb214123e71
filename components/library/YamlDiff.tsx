'use client'
/**
 * Read-only side-by-side diff of two workflow versions (Monaco's DiffEditor, bundled locally: the
 * composer's one-time Monaco setup points @monaco-editor/react at the local package, no CDN).
 * Load with next/dynamic(..., { ssr: false }).
 *
 * Model lifetime is ours: @monaco-editor/react disposes the two text models *before* the diff widget
 * when it unmounts, which Monaco reports as an uncaught "TextModel got disposed before
 * DiffEditorWidget model got reset" (on leaving the page, and on picking other versions). So it is
 * told to keep them, and on unmount (another pair of versions remounts the editor, by key) the widget
 * is detached from its models first and the models are disposed after.
 */
import { DiffEditor, type DiffOnMount } from '@monaco-editor/react'
import { monacoThemeName } from '~/components/ui/monacoTheme'
import { useCallback, useEffect, useRef } from 'react'
import { setupMonaco } from '~/components/composer/monacoSetup'

setupMonaco()

export interface YamlDiffProps {
  original: string
  modified: string
  originalId: string
  modifiedId: string
  height?: string
}

type DiffEditorInstance = Parameters<DiffOnMount>[0]

export default function YamlDiff(props: YamlDiffProps) {
  // one editor per pair of versions: a new pair is a clean mount, the old one is torn down in order
  return <YamlDiffPair key={`${props.originalId}:${props.modifiedId}`} {...props} />
}

function YamlDiffPair({ original, modified, originalId, modifiedId, height = '60vh' }: YamlDiffProps) {
  const editorRef = useRef<DiffEditorInstance | null>(null)
  const onMount = useCallback<DiffOnMount>((editor) => {
    editorRef.current = editor
  }, [])
  useEffect(
    () => () => {
      const editor = editorRef.current
      editorRef.current = null
      if (!editor) return
      const models = editor.getModel()
      try {
        editor.setModel(null)
      } catch {
        /* the widget is already disposed: its models are detached */
      }
      models?.original.dispose()
      models?.modified.dispose()
    },
    [],
  )
  return (
    <div className="lib-diff-editor" data-testid="diff-editor" data-from={originalId} data-to={modifiedId}>
      <DiffEditor
        height={height}
        language="yaml"
        theme={monacoThemeName()}
        original={original}
        modified={modified}
        originalModelPath={`inmemory://diff/a-${originalId}.yaml`}
        modifiedModelPath={`inmemory://diff/b-${modifiedId}.yaml`}
        keepCurrentOriginalModel
        keepCurrentModifiedModel
        onMount={onMount}
        options={{
          readOnly: true,
          originalEditable: false,
          renderSideBySide: true,
          automaticLayout: true,
          minimap: { enabled: false },
          scrollBeyondLastLine: false,
          renderOverviewRuler: true,
          fontSize: 13,
        }}
      />
    </div>
  )
}
