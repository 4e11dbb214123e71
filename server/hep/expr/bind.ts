/**
 * Binding: resolves the variables of a parsed expression against a column schema and infers the
 * shape of every sub-expression:
 *   scalar  one number for all events (literals, constants)
 *   flat    one number per event
 *   jagged  a list of numbers per event
 *   string  one string per event (a string column)
 *   strlit  a string literal
 * Booleans are numbers (1 true, 0 false; NaN counts as false).
 * All type errors are found here, before any event is read.
 */
import { ExprError } from './errors.ts'
import { CONSTANTS, FUNCTIONS, type FunctionInfo } from './functions.ts'
import type { BinaryOp, Node, ParsedExpr, UnaryOp } from './parser.ts'
import { didYouMean, type ColumnSchema } from '../types.ts'

export type Shape = 'scalar' | 'flat' | 'jagged' | 'string' | 'strlit'

interface Src {
  start: number
  end: number
}

export type Bound =
  | { t: 'const'; shape: 'scalar'; value: number; src: Src }
  | { t: 'strlit'; shape: 'strlit'; value: string; src: Src }
  | { t: 'col'; shape: 'flat' | 'jagged' | 'string'; name: string; src: Src }
  | { t: 'unary'; shape: Shape; op: UnaryOp; arg: Bound; src: Src }
  | { t: 'binary'; shape: Shape; op: BinaryOp; left: Bound; right: Bound; src: Src }
  | { t: 'call'; shape: Shape; fn: FunctionInfo; args: Bound[]; src: Src }
  | { t: 'index'; shape: 'flat' | 'jagged'; mode: 'element' | 'mask'; target: Bound; index: Bound; src: Src }

export interface BoundExpr {
  source: string
  root: Bound
  shape: Shape
  /** the columns read */
  columns: string[]
}

const rank = (s: Shape): number => (s === 'jagged' ? 2 : s === 'flat' ? 1 : 0)
const numeric = (s: Shape): boolean => s === 'scalar' || s === 'flat' || s === 'jagged'

function widest(shapes: Shape[]): 'scalar' | 'flat' | 'jagged' {
  let r = 0
  for (const s of shapes) r = Math.max(r, rank(s))
  return r === 2 ? 'jagged' : r === 1 ? 'flat' : 'scalar'
}

function describeShape(s: Shape): string {
  switch (s) {
    case 'scalar':
      return 'a single number'
    case 'flat':
      return 'one value per event'
    case 'jagged':
      return 'a list per event'
    case 'string':
      return 'a string per event'
    default:
      return 'a string'
  }
}

export function bindExpr(parsed: ParsedExpr, schema: ColumnSchema): BoundExpr {
  const { source } = parsed
  const columns = new Set<string>()
  const text = (n: Src) => source.slice(n.start, n.end)

  function fail(kind: 'name' | 'type', message: string, at: Src, hint?: string): never {
    const e = new ExprError(kind, message, at.start, at.end - at.start, hint)
    e.expr = source
    throw e
  }

  function requireNumeric(b: Bound, what: string): void {
    if (!numeric(b.shape)) {
      fail(
        'type',
        `${b.shape === 'string' ? `string column '${text(b.src)}'` : `string ${text(b.src)}`} cannot be used ${what}`,
        b.src,
        'strings can only be compared with == or != (e.g. Type == "GG")',
      )
    }
  }

  function bind(n: Node): Bound {
    const src = { start: n.start, end: n.end }
    switch (n.type) {
      case 'num':
        return { t: 'const', shape: 'scalar', value: n.value, src }
      case 'str':
        return { t: 'strlit', shape: 'strlit', value: n.value, src }
      case 'var': {
        const kind = Object.hasOwn(schema, n.name) ? schema[n.name] : undefined
        if (kind) {
          columns.add(n.name)
          return { t: 'col', shape: kind, name: n.name, src }
        }
        const constant = Object.hasOwn(CONSTANTS, n.name) ? CONSTANTS[n.name] : undefined
        if (constant !== undefined) return { t: 'const', shape: 'scalar', value: constant, src }
        const called = Object.hasOwn(FUNCTIONS, n.name) ? FUNCTIONS[n.name] : undefined
        if (called) fail('name', `'${n.name}' is a function`, src, `call it: ${called.signature}`)
        const names = Object.keys(schema)
        const guess = didYouMean(n.name, names)
        const some = names.slice(0, 12).join(', ') + (names.length > 12 ? ', ...' : '')
        return fail(
          'name',
          `unknown variable '${n.name}'${guess ? `; did you mean '${guess}'?` : ''}`,
          src,
          guess ? `did you mean '${guess}'?` : names.length ? `available: ${some}` : 'no columns are available',
        )
      }
      // falls through (fail never returns)
      case 'unary': {
        const arg = bind(n.arg)
        requireNumeric(arg, n.op === 'not' ? "with 'not'" : `with unary '${n.op}'`)
        return { t: 'unary', shape: widest([arg.shape]), op: n.op, arg, src }
      }
      case 'binary': {
        const left = bind(n.left)
        const right = bind(n.right)
        const strL = left.shape === 'string' || left.shape === 'strlit'
        const strR = right.shape === 'string' || right.shape === 'strlit'
        if (strL || strR) {
          if ((n.op === '==' || n.op === '!=') && strL && strR) {
            const shape = left.shape === 'string' || right.shape === 'string' ? 'flat' : 'scalar'
            return { t: 'binary', shape, op: n.op, left, right, src }
          }
          if (n.op === '==' || n.op === '!=') {
            fail('type', `cannot compare ${describeShape(left.shape)} with ${describeShape(right.shape)}`, src)
          }
          requireNumeric(strL ? left : right, `with '${n.op}'`)
        }
        return { t: 'binary', shape: widest([left.shape, right.shape]), op: n.op, left, right, src }
      }
      case 'call': {
        const fn = Object.hasOwn(FUNCTIONS, n.name) ? FUNCTIONS[n.name] : undefined
        if (!fn) return fail('name', `unknown function '${n.name}'`, src)
        const args = n.args.map(bind)
        args.forEach((a) => requireNumeric(a, `in ${n.name}()`))
        if (fn.cls === 'reducer') {
          const [a] = args
          if (!a) return fail('type', `${n.name}() needs a list per event`, src)
          if (a.shape !== 'jagged') {
            fail(
              'type',
              `${n.name}() needs a list per event, but '${text(a.src)}' is ${describeShape(a.shape)}`,
              a.src,
              a.shape === 'flat' ? `use '${text(a.src)}' directly` : undefined,
            )
          }
          return { t: 'call', shape: 'flat', fn, args, src }
        }
        return { t: 'call', shape: widest(args.map((a) => a.shape)), fn, args, src }
      }
      case 'index': {
        const target = bind(n.target)
        const index = bind(n.index)
        if (target.shape !== 'jagged') {
          fail(
            'type',
            `'${text(target.src)}' is ${describeShape(target.shape)} and cannot be indexed`,
            target.src,
            'only per-event lists (jagged columns) can be indexed',
          )
        }
        requireNumeric(index, 'as an index')
        if (index.shape === 'jagged') {
          return { t: 'index', shape: 'jagged', mode: 'mask', target, index, src }
        }
        if (index.t === 'const' && !Number.isInteger(index.value)) {
          fail(
            'type',
            `index ${text(index.src)} is not an integer`,
            index.src,
            'x[0] is the first element, x[-1] the last',
          )
        }
        if (index.t === 'unary' && index.op === '-' && index.arg.t === 'const' && !Number.isInteger(index.arg.value)) {
          fail(
            'type',
            `index ${text(index.src)} is not an integer`,
            index.src,
            'x[0] is the first element, x[-1] the last',
          )
        }
        return { t: 'index', shape: 'flat', mode: 'element', target, index, src }
      }
      default:
        throw new ExprError('syntax', 'unknown node', 0, 0)
    }
  }

  const root = bind(parsed.ast)
  return { source, root, shape: root.shape, columns: [...columns] }
}
