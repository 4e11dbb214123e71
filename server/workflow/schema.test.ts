import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { workflowJsonSchema, KNOWN_MODIFIERS, BUILTIN_OPS, compileWorkflow } from './index.ts'
import { EXAMPLES } from '../../examples/catalog.ts'
import { generateLarge } from '../../examples/generate-large.ts'

// biome-ignore lint/suspicious/noExplicitAny: the generated JSON Schema, walked freely by the assertions
type S = Record<string, any>

describe('workflowJsonSchema (generated from the zod schemas)', () => {
  const s = workflowJsonSchema() as S
  const stage = s.properties.analysis.properties.stages.items
  const execution = s.properties.execution

  it('is a draft-07 schema with descriptions', () => {
    expect(s.$schema).toBe('http://json-schema.org/draft-07/schema#')
    expect(s.required).toEqual(['analysis'])
    expect(s.additionalProperties).toEqual({}) // other top-level keys pass through
    expect(stage.additionalProperties).toBe(false) // unknown stage keys are errors
    expect(stage.required).toEqual(['id', 'op'])
    expect(execution.description).toMatch(/Where and how/)
    expect(execution.properties.pools.description).toBeTruthy()
  })

  it('has enums (with descriptions) for backends, strategies, modifiers and built-in ops', () => {
    expect(execution.properties.backend.enum).toEqual(['local', 'dask'])
    expect(execution.properties.backend.enumDescriptions).toHaveLength(2)
    expect(execution.properties.strategy.enum).toEqual(['local', 'default', 'slurm', 'htcondor'])
    const stageExec = stage.properties.execution.anyOf[0]
    const modEnum = stageExec.properties.modifiers.items.anyOf[0].anyOf[0]
    expect(modEnum.enum).toEqual(KNOWN_MODIFIERS.map((m) => m.name))
    expect(modEnum.enumDescriptions[0]).toMatch(/GPU/)
    expect(stage.properties.op.anyOf[0].enum).toEqual(BUILTIN_OPS.map((o) => o.name))
  })

  it('returns a fresh copy each time', () => {
    const a = workflowJsonSchema() as S
    a.properties = null
    expect((workflowJsonSchema() as S).properties).toBeTruthy()
  })

  it('catalogues the modifiers and built-in ops the design asks for', () => {
    const byName = Object.fromEntries(KNOWN_MODIFIERS.map((m) => [m.name, m]))
    expect(byName['gpu.preload']!.requiresGpu).toBe(true)
    expect(byName['cuda.jit']!.requiresGpu).toBe(true)
    expect(byName.profile!.requiresGpu).toBe(false)
    expect(byName.diagnostics!.requiresGpu).toBe(false)
    expect(BUILTIN_OPS.map((o) => o.name)).toEqual(
      expect.arrayContaining(['shell', 'python', 'noop', 'hep.define', 'hep.select', 'hep.hist']),
    )
    for (const o of BUILTIN_OPS) expect(o.description.length).toBeGreaterThan(10)
  })
})

describe('examples catalog', () => {
  it('large-500.yaml is the output of examples/generate-large.ts', () => {
    expect(readFileSync(join(import.meta.dirname, '../../examples/large-500.yaml'), 'utf8')).toBe(generateLarge())
  })

  it('lists existing files that compile without problems', () => {
    expect(EXAMPLES.map((e) => e.id)).toEqual(
      expect.arrayContaining([
        'local-quickstart',
        'heterogeneous',
        'fasthep-flow',
        'dask-slurm',
        'dask-htcondor',
        'large-500',
      ]),
    )
    for (const e of EXAMPLES) {
      const text = readFileSync(join(import.meta.dirname, '../../examples', e.file), 'utf8')
      const r = compileWorkflow(text, { fileName: e.file, forRun: true })
      expect(r.problems, e.file).toEqual([])
      expect(e.title && e.description).toBeTruthy()
    }
  })
})
