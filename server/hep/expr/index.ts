/**
 * The HEP expression language (documented in ./README.md): safe (no eval / Function), vectorised
 * over columns, with jagged (per-event list) broadcasting.
 *
 *   const parsed = parseExpr('leading(Muon_Pt) > 20')      // once (syntax + function names)
 *   const bound = bindExpr(parsed, schemaOf(batch))        // per schema (variables + shapes)
 *   const value = evaluate(bound, batch)                   // per partition
 *
 * Every error is an ExprError `{ message, column, length, hint }` (column is 0-based in the text).
 */
import { ExprError, type ExprErrorInfo } from './errors.ts'
import { parseExpr, type ParsedExpr } from './parser.ts'
import { bindExpr, type BoundExpr } from './bind.ts'
import type { ColumnSchema } from '../types.ts'

export { ExprError } from './errors.ts'
export type { ExprErrorInfo, ExprErrorKind } from './errors.ts'
export { tokenize, MAX_EXPRESSION_LENGTH } from './tokenizer.ts'
export type { Token, TokenType } from './tokenizer.ts'
export { parseExpr, exprVariables } from './parser.ts'
export type { Node, ParsedExpr, BinaryOp, UnaryOp } from './parser.ts'
export { bindExpr } from './bind.ts'
export type { Bound, BoundExpr, Shape } from './bind.ts'
export { evaluate, EvalContext, valueToColumn, valueToFlat } from './evaluate.ts'
export type { Value } from './evaluate.ts'
export { FUNCTIONS, CONSTANTS, functionNames } from './functions.ts'
export type { FunctionInfo, FunctionClass } from './functions.ts'

/** parse + bind in one step. */
export function compileExpr(source: string | ParsedExpr, schema: ColumnSchema): BoundExpr {
  const parsed = typeof source === 'string' ? withSource(() => parseExpr(source), source) : source
  return withSource(() => bindExpr(parsed, schema), parsed.source)
}

/**
 * Checks an expression without data: syntax and functions always, variables and shapes when a schema
 * is given. Returns null when fine, else the error info (for editors and the workflow validator).
 */
export function checkExpr(source: string, schema?: ColumnSchema): (ExprErrorInfo & { kind: string }) | null {
  try {
    const parsed = parseExpr(source)
    if (schema) bindExpr(parsed, schema)
    return null
  } catch (e) {
    if (e instanceof ExprError) return e.toJSON()
    throw e
  }
}

function withSource<T>(f: () => T, source: string): T {
  try {
    return f()
  } catch (e) {
    if (e instanceof ExprError && e.expr === undefined) e.expr = source
    throw e
  }
}
