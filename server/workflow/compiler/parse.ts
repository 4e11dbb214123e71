/**
 * Pass 1, parse: the YAML text is read by SourceContext (source.ts, with ranges); this pass checks
 * the top-level shape (a mapping with analysis.stages) and hands back the document.
 */
import type { SourceContext } from '../source.ts'
import { isObj } from './state.ts'
import type { Obj } from './state.ts'

export interface ParsedWorkflow {
  js: Obj
  analysis: Obj & { stages: unknown[] }
}

/** The document when it has the shape of a workflow, else null with the problem reported. */
export function parseWorkflow(ctx: SourceContext): ParsedWorkflow | null {
  if (!ctx.valueOk) return null
  const js = ctx.value
  if (js === null || js === undefined) {
    ctx.error('empty-workflow', 'the workflow is empty', [], {
      hint: 'start with:  analysis: { stages: [ { id: Hello, op: shell, params: { command: "echo hello" } } ] }',
    })
    return null
  }
  if (!isObj(js)) {
    ctx.error(
      'invalid-workflow',
      `a workflow must be a mapping with 'analysis' and 'execution', got ${Array.isArray(js) ? 'a list' : typeof js}`,
      [],
      {
        hint: 'the top level needs keys such as analysis:, execution:, data:',
      },
    )
    return null
  }
  const analysis = js.analysis
  if (!isObj(analysis) || !Array.isArray(analysis.stages)) {
    if (analysis === undefined) {
      ctx.error('missing-stages', "the workflow has no 'analysis.stages'", [], {
        hint: 'add a list of stages:  analysis: { stages: [ { id: First, op: noop } ] }',
        range: ctx.headRange(ctx.root) ?? undefined,
      })
    } else if (!isObj(analysis)) {
      ctx.error(
        'missing-stages',
        `'analysis' must be a mapping with 'stages', got ${Array.isArray(analysis) ? 'a list' : typeof analysis}`,
        ['analysis'],
        {
          hint: "write 'analysis:' then, indented, 'stages:' with a list of stages",
        },
      )
    } else if (analysis.stages === undefined) {
      ctx.error('missing-stages', "'analysis' has no 'stages'", ['analysis'], {
        at: 'key',
        hint: "add 'stages:' with a list of stages under 'analysis'",
      })
    } else {
      ctx.error('missing-stages', "'analysis.stages' must be a list of stages", ['analysis', 'stages'], {
        hint: "each stage starts with '- id: ...'",
      })
    }
    return null
  }
  return { js, analysis: analysis as Obj & { stages: unknown[] } }
}
