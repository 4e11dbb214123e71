/**
 * Run parameters at launch: override a stage's params or an execution key for ONE run, without
 * saving a new version. One override per line:
 *
 *   Select.cut = "pt > 30"            stage Select, params.cut
 *   Hist.bins.n = 100                 nested params (params.bins.n)
 *   execution.backend = dask          any key under execution (pools.default.workers, config.retries, ...)
 *
 * Values are YAML (a number, a string, [a, b], {k: v}). The overrides are applied to the version's
 * YAML and compiled again, so a bad value is caught like any edit, and recorded on the run.
 */
import { isMap, isSeq, parseDocument, type Document } from 'yaml'
import { badInput } from '../errors.ts'
import type { RunParameter } from './parameterLines.ts'

export { parseParameterLines, type ParameterProblem, type RunParameter } from './parameterLines.ts'

function stageIds(doc: Document): string[] {
  const stages = doc.getIn(['analysis', 'stages'])
  if (!isSeq(stages)) return []
  return stages.items.map((s) => (isMap(s) ? String(s.get('id') ?? '') : ''))
}

/**
 * The workflow YAML with the overrides applied. Throws BAD_INPUT naming the override (by its
 * position in the list) when a stage does not exist or a value is not YAML.
 */
export function applyParameters(yaml: string, parameters: RunParameter[]): string {
  if (parameters.length === 0) return yaml
  const doc = parseDocument(yaml)
  const ids = stageIds(doc)
  parameters.forEach((p, i) => {
    const where = `override ${i + 1} (${p.key})`
    const value = parseDocument(p.value)
    if (value.errors.length)
      throw badInput(`${where}: the value is not YAML: ${value.errors[0]!.message.split('\n')[0]}`, {
        index: i,
      })
    const parts = p.key.split('.')
    if (parts[0] === 'execution') {
      doc.setIn(parts, value.contents)
      return
    }
    const idx = ids.indexOf(parts[0]!)
    if (idx < 0)
      throw badInput(
        `${where}: no stage '${parts[0]}' (stages: ${ids.join(', ') || 'none'}); write Stage.param = value or execution.key = value`,
        { index: i },
      )
    doc.setIn(['analysis', 'stages', idx, 'params', ...parts.slice(1)], value.contents)
  })
  return doc.toString()
}
