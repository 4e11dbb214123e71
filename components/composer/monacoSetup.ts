'use client'
/**
 * One-time Monaco setup, bundled locally (no CDN): workers from our own bundle, @monaco-editor/react
 * pointed at the local monaco instance, monaco-yaml with the compiler's JSON Schema, and completion
 * providers for the values only the current plan knows (pools, stage ids, modifiers, ops).
 * Import only on the client (the editor is loaded with `next/dynamic(..., { ssr: false })`).
 */
import * as monaco from 'monaco-editor'
import { loader } from '@monaco-editor/react'
import { configureMonacoYaml } from 'monaco-yaml'
import { followAppTheme } from '~/components/ui/monacoTheme'
import { BUILTIN_OPS, KNOWN_MODIFIERS, workflowJsonSchema } from '~/server/workflow'
import { completionContext, schemaForEditor } from './completion'

export interface CompletionData {
  pools: string[]
  stages: string[]
  ops: string[]
}

const dataByModel = new Map<string, CompletionData>()

/** Names offered for a model (the composer updates them after each re-plan). */
export function setCompletionData(uri: string, data: CompletionData) {
  dataByModel.set(uri, data)
}
export function clearCompletionData(uri: string) {
  dataByModel.delete(uri)
}

declare global {
  interface Window {
    MonacoEnvironment?: monaco.Environment
  }
}

let ready = false

export function setupMonaco(): typeof monaco {
  if (ready) return monaco
  ready = true
  window.MonacoEnvironment = {
    getWorker(_moduleId: string, label: string) {
      if (label === 'yaml') return new Worker(new URL('monaco-yaml/yaml.worker.js', import.meta.url))
      return new Worker(new URL('monaco-editor/esm/vs/editor/editor.worker.js', import.meta.url))
    },
  }
  loader.config({ monaco })

  let schema: unknown = {}
  try {
    const ours = new Set([...BUILTIN_OPS.map((o) => o.name), ...KNOWN_MODIFIERS.map((m) => m.name)])
    schema = schemaForEditor(workflowJsonSchema(), ours)
  } catch (e) {
    console.warn('[composer] no workflow JSON schema', e)
  }
  configureMonacoYaml(monaco, {
    enableSchemaRequest: false,
    hover: true,
    completion: true,
    // The compiler reports its own problems (with hints) as markers: no duplicates from the schema.
    validate: false,
    format: {},
    schemas: [
      {
        uri: 'inmemory://schema/fasthep-workflow.json',
        fileMatch: ['**/*.yaml', '**/*.yml'],
        schema: schema as never,
      },
    ],
  })

  // both app themes, followed live by every editor (components/ui/monacoTheme.ts)
  followAppTheme(monaco)

  monaco.languages.registerCompletionItemProvider('yaml', {
    triggerCharacters: [' ', ',', '[', '-', ':'],
    provideCompletionItems(model, position) {
      const lines = model.getLinesContent()
      const ctx = completionContext(lines, position.lineNumber, position.column)
      if (!ctx) return { suggestions: [] }
      const data = dataByModel.get(model.uri.toString()) ?? { pools: [], stages: [], ops: [] }
      const range = new monaco.Range(
        position.lineNumber,
        position.column - ctx.prefix.length,
        position.lineNumber,
        position.column,
      )
      const K = monaco.languages.CompletionItemKind
      const items: monaco.languages.CompletionItem[] = []
      const offered = new Set<string>()
      const push = (
        label: string,
        kind: monaco.languages.CompletionItemKind,
        detail: string,
        documentation?: string,
      ) => {
        // a registry op may shadow a built-in name, a pool name a resource class: list each once
        if (offered.has(label)) return
        offered.add(label)
        items.push({ label, kind, detail, documentation, insertText: label, range, sortText: `0${label}` })
      }
      if (ctx.kind === 'pool') for (const p of data.pools) push(p, K.Enum, 'pool')
      if (ctx.kind === 'stage') {
        const here = stageIdAround(lines, position.lineNumber)
        for (const s of data.stages) if (s !== here) push(s, K.Reference, 'stage')
      }
      if (ctx.kind === 'modifier') for (const m of KNOWN_MODIFIERS) push(m.name, K.Function, 'modifier', m.description)
      if (ctx.kind === 'op') {
        for (const o of BUILTIN_OPS) push(o.name, K.Function, 'built-in op', o.description)
        for (const o of data.ops) push(o, K.Module, 'registry op')
      }
      return { suggestions: items }
    },
  })
  return monaco
}

/** The `id:` of the stage around a line (so a stage is not offered as its own dependency). */
function stageIdAround(lines: string[], lineNumber: number): string | null {
  for (let i = lineNumber - 1; i >= 0; i--) {
    const line = lines[i] ?? ''
    const m = /^\s*-\s+id\s*:\s*["']?([^"'\s#]+)/.exec(line)
    if (m) return m[1] ?? null
    if (/^\s*stages\s*:/.test(line)) return null
  }
  return null
}

export { monaco }
