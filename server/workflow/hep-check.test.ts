import { describe, expect, it } from 'vitest'
import { compileWorkflow } from './index.ts'
import { readFileSync } from 'node:fs'
import path from 'node:path'

const wf = (stages: string) => `version: 1
name: t
data:
  datasets:
    - { name: d, files: [a.root] }
analysis:
  stages:
${stages}`

function hepProblems(src: string) {
  return compileWorkflow(src).problems.filter((p) => p.code === 'hep-expression')
}

/** line:col (1-based) of the first occurrence of `needle` (+ offset) in src */
function pos(src: string, needle: string, offset = 0) {
  const o = src.indexOf(needle) + offset
  const before = src.slice(0, o).split('\n')
  return { line: before.length, col: before[before.length - 1]!.length + 1 }
}

describe('hep expression errors point into the YAML', () => {
  it('plain scalar in a select list', () => {
    const src = wf(`    - id: sel
      op: hep.select
      params:
        selection:
          all:
            - NMuon >= 2
            - leading(Muon_Pt) > > 20
`)
    const [p] = hepProblems(src)
    expect(p!.path).toEqual(['analysis', 'stages', 0, 'params', 'selection', 'all', 1])
    const want = pos(src, '> > 20', 2)
    expect({ line: p!.range.start.line, col: p!.range.start.col }).toEqual(want)
    expect(p!.severity).toBe('error')
  })

  it('quoted scalar and a hint for =', () => {
    const src = wf(`    - id: h
      op: hep.hist
      params:
        histograms:
          - { name: x, expr: "pt1 = 3", bins: { n: 10, low: 0, high: 1 } }
`)
    const [p] = hepProblems(src)
    expect(p!.range.start).toMatchObject(pos(src, '= 3'))
    expect(p!.hint).toBeTruthy()
  })

  it('folded multi-line define: the error line is the continuation line', () => {
    const src = wf(`    - id: def
      op: hep.define
      params:
        variables:
          m: >-
            sqrt((E1 + E2) ** 2
            - (px1 + px2 ** 2)
            - (py1 + py2) ** 2 +)
`)
    const [p] = hepProblems(src)
    expect(p!.range.start).toMatchObject(pos(src, '+)', 1))
  })

  it('valid expressions and the bundled examples give no hep problem', () => {
    for (const f of ['hep-zmumu.yaml', 'fasthep-flow.yaml']) {
      const src = readFileSync(path.join(process.cwd(), 'examples', f), 'utf8')
      expect(hepProblems(src)).toEqual([])
    }
  })
})

describe('hep ops without datasets', () => {
  const yaml = [
    'analysis:',
    '  stages:',
    '    - id: Plot',
    '      op: hep.hist',
    '      params: { histograms: [{ name: pt, expr: x, bins: { n: 10, low: 0, high: 1 } }] }',
    '',
  ].join('\n')
  it('warns while editing and refuses for a run, at the op', () => {
    const edit = compileWorkflow(yaml)
    const w = edit.problems.find((p) => p.code === 'hep-no-datasets')
    expect(w?.severity).toBe('warning')
    expect(w?.range.start.line).toBe(4)
    expect(w?.range.start.col).toBe(11)
    expect(w?.hint).toMatch(/data: \{ datasets/)
    const run = compileWorkflow(yaml, { forRun: true })
    expect(run.ok).toBe(false)
    expect(run.problems.find((p) => p.code === 'hep-no-datasets')?.severity).toBe('error')
  })
})
