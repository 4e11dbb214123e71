import { describe, expect, it } from 'vitest'
import { completionContext, schemaForEditor } from './completion'

function at(doc: string) {
  // `|` marks the cursor
  const lines = doc.split('\n')
  const ln = lines.findIndex((l) => l.includes('|'))
  const line = lines[ln] ?? ''
  const col = line.indexOf('|') + 1
  lines[ln] = line.replace('|', '')
  return completionContext(lines, ln + 1, col)
}

describe('completionContext', () => {
  it('pools after require/prefer/fallback', () => {
    expect(at('    execution:\n      require: |')).toEqual({ kind: 'pool', prefix: '' })
    expect(at('      prefer: gp|')).toEqual({ kind: 'pool', prefix: 'gp' })
    expect(at('      fallback: "def|')).toEqual({ kind: 'pool', prefix: 'def' })
  })
  it('stage ids in needs / from, inline and block lists', () => {
    expect(at('      needs: [A, B|')).toEqual({ kind: 'stage', prefix: 'B' })
    expect(at('      needs: [|')).toEqual({ kind: 'stage', prefix: '' })
    expect(at('      needs: [A]|')).toBeNull()
    expect(at('      from: Sel|')).toEqual({ kind: 'stage', prefix: 'Sel' })
    expect(at('    needs:\n      - A\n      - |')).toEqual({ kind: 'stage', prefix: '' })
    expect(at('    needs:\n    - Bu|')).toEqual({ kind: 'stage', prefix: 'Bu' })
    expect(at('    from:\n      - node: Se|')).toEqual({ kind: 'stage', prefix: 'Se' })
  })
  it('modifiers and ops', () => {
    expect(at('      modifiers:\n        - gpu.|')).toEqual({ kind: 'modifier', prefix: 'gpu.' })
    expect(at('      modifiers: [cuda.jit, |')).toEqual({ kind: 'modifier', prefix: '' })
    expect(at('      modifiers:\n        - name: pro|')).toEqual({ kind: 'modifier', prefix: 'pro' })
    expect(at('  - id: X\n    op: hep.|')).toEqual({ kind: 'op', prefix: 'hep.' })
  })
  it('nothing elsewhere', () => {
    expect(at('  - id: |')).toBeNull()
    expect(at('    stages:\n      - |')).toBeNull()
    expect(at('      require: gpu  # comment |')).toBeNull()
    expect(at('      require: gpu |')).toBeNull()
  })
})

describe('schemaForEditor', () => {
  const schema = {
    title: 'FAST-HEP workflow',
    type: 'object',
    required: ['analysis'],
    properties: {
      analysis: {
        type: 'object',
        required: ['stages'],
        properties: { op: { anyOf: [{ enum: ['noop', 'shell'] }, { type: 'string' }] } },
      },
      backend: { enum: ['local', 'dask'] },
    },
  }
  it('drops required lists (the junk skeleton entry) and the enums our own provider offers', () => {
    const out = schemaForEditor(schema, new Set(['noop', 'shell'])) as typeof schema
    expect(JSON.stringify(out)).not.toContain('required')
    expect(out.properties.analysis.properties.op.anyOf[0]).toEqual({})
    expect(out.properties.backend.enum).toEqual(['local', 'dask'])
    expect(out.title).toBe('FAST-HEP workflow')
  })
})
