'use client'
/**
 * Read-only side-by-side diff of two workflow versions (Monaco's DiffEditor, bundled locally: the
 * composer's one-time Monaco setup points @monaco-editor/react at the local package, no CDN).
 * Load with next/dynamic(..., { ssr: false }).
 */
import { DiffEditor } from '@monaco-editor/react'
import { setupMonaco } from '~/components/composer/monacoSetup'

setupMonaco()

export interface YamlDiffProps {
  original: string
  modified: string
  originalId: string
  modifiedId: string
  height?: string
}

export default function YamlDiff({ original, modified, originalId, modifiedId, height = '60vh' }: YamlDiffProps) {
  return (
    <div className="lib-diff-editor" data-testid="diff-editor">
      <DiffEditor
        height={height}
        language="yaml"
        theme="controlroom-dark"
        original={original}
        modified={modified}
        originalModelPath={`inmemory://diff/a-${originalId}.yaml`}
        modifiedModelPath={`inmemory://diff/b-${modifiedId}.yaml`}
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
