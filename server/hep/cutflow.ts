/** Cutflow tables of `hep.select`: JSON format and exact merging. */
import { addExact, exactToNumber } from './exact.ts'
import { HepError } from './types.ts'

/**
 * One row per cut, in selection order (pre-order for nested all/any):
 *  - `passed`: events reaching this point, i.e. passing this cut, the cuts before it in an enclosing
 *    `all`, and the enclosing cuts (for the children of an `any` only the enclosing cuts)
 *  - `input`: events entering this cut (efficiency = passed / input)
 *  - `passedAlone`: events of the enclosing node's input passing this cut on its own
 *  - `sumw` / `sumw2`: weighted `passed` (equal to `passed` when unweighted), exact strings in `exact`
 * The first row (kind 'total') counts every event of the input.
 */
export interface CutflowRow {
  name: string
  kind: 'total' | 'cut' | 'all' | 'any'
  /** the expression of a 'cut' row */
  expr?: string
  depth: number
  /** events entering this cut (for the efficiency passed / input) */
  input: number
  passed: number
  passedAlone: number
  sumw: number
  sumw2: number
  exact: { sumw: string; sumw2: string }
}

export interface Cutflow {
  type: 'cutflow'
  version: 1
  /** the weight expression, absent when unweighted */
  weight?: string
  rows: CutflowRow[]
}

/** Merges two cutflows of the same selection (exact, associative, commutative). */
export function mergeCutflows(a: Cutflow, b: Cutflow): Cutflow {
  if (a.rows.length !== b.rows.length || (a.weight ?? '') !== (b.weight ?? '')) {
    throw new HepError('cannot merge cutflows of different selections')
  }
  const rows = a.rows.map((r, i) => {
    const o = b.rows[i]
    if (!o) throw new HepError('cannot merge cutflows of different selections')
    if (r.name !== o.name || r.kind !== o.kind || r.depth !== o.depth) {
      throw new HepError(`cannot merge cutflows: row ${i} is '${r.name}' in one and '${o.name}' in the other`)
    }
    const sw = addExact(r.exact.sumw, o.exact.sumw)
    const sw2 = addExact(r.exact.sumw2, o.exact.sumw2)
    return {
      ...r,
      input: r.input + o.input,
      passed: r.passed + o.passed,
      passedAlone: r.passedAlone + o.passedAlone,
      sumw: exactToNumber(sw),
      sumw2: exactToNumber(sw2),
      exact: { sumw: sw, sumw2: sw2 },
    }
  })
  return { ...a, rows }
}
