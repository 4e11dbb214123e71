/**
 * Compile-time check of the expressions in hep.* stage params (pure, like the compiler): every
 * expression is parsed with the HEP expression language (server/hep/expr) and a syntax error is
 * reported at the exact characters inside the YAML scalar (line:col of the offending token, not of
 * the stage). Names and shapes depend on the data and are checked when the task runs.
 *
 * Where expressions sit:
 *   hep.define  params.variables.<name>
 *   hep.select  params.selection (a string, {expr}, {all: [...]}, {any: [...]}, or a list), params.weight
 *   hep.hist    params.histograms[i].expr / .weight, params.weight, or the short form params.expression
 */
import { ExprError, parseExpr } from '../hep/expr/index.ts'
import type { SourceContext, Path } from './source.ts'
import type { SourceRange } from './types.ts'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)

/** (path inside params, expression text) of every expression of a hep stage */
export function hepExpressions(op: string, params: unknown): { path: Path; expr: string }[] {
  const out: { path: Path; expr: string }[] = []
  if (!isObj(params)) return out
  const add = (path: Path, v: unknown) => {
    if (typeof v === 'string') out.push({ path, expr: v })
  }
  if (op === 'hep.define') {
    if (isObj(params.variables)) for (const [k, v] of Object.entries(params.variables)) add(['variables', k], v)
  } else if (op === 'hep.select') {
    const walk = (v: unknown, path: Path) => {
      if (typeof v === 'string') add(path, v)
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]))
      else if (isObj(v)) {
        if (v.expr !== undefined) walk(v.expr, [...path, 'expr'])
        if (v.all !== undefined) walk(v.all, [...path, 'all'])
        if (v.any !== undefined) walk(v.any, [...path, 'any'])
      }
    }
    walk(params.selection, ['selection'])
    add(['weight'], params.weight)
  } else if (op === 'hep.hist') {
    if (Array.isArray(params.histograms)) {
      params.histograms.forEach((h, i) => {
        if (!isObj(h)) return
        add(['histograms', i, 'expr'], h.expr)
        add(['histograms', i, 'weight'], h.weight)
      })
    }
    add(['expression'], params.expression)
    add(['expr'], params.expr)
    add(['weight'], params.weight)
  }
  return out
}

/**
 * Source offset of character `col` of `expr`, which is the value of the YAML scalar spanning
 * [start, end): plain, quoted, folded or literal. The expression's characters are matched in order
 * against the raw text (a run of whitespace matches any run of whitespace or line breaks).
 */
export function exprOffsetInScalar(source: string, start: number, end: number, expr: string, col: number): number {
  let i = start
  // skip the quote or the block header (| or > with indicators, to the end of the line)
  const c0 = source[i]
  if (c0 === '"' || c0 === "'") i++
  else if (c0 === '|' || c0 === '>') {
    const nl = source.indexOf('\n', i)
    i = nl < 0 ? end : nl + 1
  }
  let j = 0
  while (j < col && i < end && j < expr.length) {
    const e = expr[j]
    if (/\s/.test(e)) {
      while (j < expr.length && /\s/.test(expr[j]) && j < col) j++
      while (i < end && /\s/.test(source[i])) i++
      continue
    }
    // skip raw whitespace (line folding) and escape backslashes not in the value
    while (i < end && source[i] !== e && /[\s\\]/.test(source[i])) i++
    if (source[i] === e) {
      i++
      j++
    } else return -1
  }
  while (i < end && /\s/.test(source[i]) && j < expr.length && !/\s/.test(expr[j])) i++
  return i
}

/**
 * The syntax error of each expression text seen recently (null: it parses). The editor re-plans on
 * every keystroke and a large workflow repeats the same expressions: each distinct text is parsed once.
 */
const exprErrors = new Map<string, ExprError | null>()
const EXPR_MEMO_MAX = 20_000

function exprError(expr: string): ExprError | null {
  const known = exprErrors.get(expr)
  if (known !== undefined) return known
  let err: ExprError | null = null
  try {
    parseExpr(expr)
  } catch (e) {
    // anything else (e.g. a stack overflow) is not a syntax error to point at: checked when it runs
    if (!(e instanceof ExprError)) return null
    err = e
  }
  if (exprErrors.size >= EXPR_MEMO_MAX) exprErrors.clear()
  exprErrors.set(expr, err)
  return err
}

/** reports the syntax errors of a hep stage's expressions; `paramsPath` = path of the stage's params */
export function checkHepStageParams(ctx: SourceContext, op: string, params: unknown, paramsPath: Path): void {
  if (!op.startsWith('hep.')) return
  for (const { path, expr } of hepExpressions(op, params)) {
    const e = exprError(expr)
    if (e) {
      const full = [...paramsPath, ...path]
      const loc = ctx.locate(full)
      let range: SourceRange | undefined
      if (loc.exact && loc.node && loc.node.kind === 'scalar') {
        const at = exprOffsetInScalar(ctx.source, loc.node.start, loc.node.end, expr, e.column)
        if (at >= 0) {
          const endAt =
            e.length > 0 ? exprOffsetInScalar(ctx.source, loc.node.start, loc.node.end, expr, e.column + e.length) : at
          range = ctx.range(at, Math.max(at, endAt))
        }
      }
      ctx.error('hep-expression', `expression error: ${e.message}`, full, {
        ...(e.hint ? { hint: e.hint } : {}),
        ...(range ? { range } : {}),
      })
    }
  }
}
