/**
 * Pratt parser of the expression language: text -> AST. Knows nothing about columns; function names
 * and arities are checked here (they do not depend on the data), variables later by `bind`.
 *
 * Binding powers (loosest first):
 *   or ||            10  left
 *   and &&           20  left
 *   not !  (prefix)  25
 *   < <= > >= == !=  30  non-associative (a < b < c is an error)
 *   + -              40  left
 *   * / %            50  left
 *   - +    (prefix)  60
 *   **               70  right   (-x ** 2 == -(x ** 2); 2 ** -1 allowed)
 *   f(...) x[...]    80  postfix
 */
import { ExprError } from './errors.ts'
import { tokenize, type Token } from './tokenizer.ts'
import { FUNCTIONS, functionNames } from './functions.ts'
import { didYouMean } from '../types.ts'

export type BinaryOp = 'or' | 'and' | '<' | '<=' | '>' | '>=' | '==' | '!=' | '+' | '-' | '*' | '/' | '%' | '**'
export type UnaryOp = '-' | '+' | 'not'

interface Span {
  /** 0-based offsets in the source, end exclusive */
  start: number
  end: number
}

export type Node =
  | (Span & { type: 'num'; value: number })
  | (Span & { type: 'str'; value: string })
  | (Span & { type: 'var'; name: string })
  | (Span & { type: 'unary'; op: UnaryOp; arg: Node; opStart: number; opEnd: number })
  | (Span & { type: 'binary'; op: BinaryOp; left: Node; right: Node; opStart: number; opEnd: number })
  | (Span & { type: 'call'; name: string; args: Node[]; nameEnd: number })
  | (Span & { type: 'index'; target: Node; index: Node; bracketStart: number })

export interface ParsedExpr {
  source: string
  ast: Node
}

const BINARY_BP: Readonly<Record<BinaryOp, number>> = {
  or: 10,
  and: 20,
  '<': 30,
  '<=': 30,
  '>': 30,
  '>=': 30,
  '==': 30,
  '!=': 30,
  '+': 40,
  '-': 40,
  '*': 50,
  '/': 50,
  '%': 50,
  '**': 70,
}
const isBinaryOp = (v: string): v is BinaryOp => Object.hasOwn(BINARY_BP, v)
const COMPARISON = new Set(['<', '<=', '>', '>=', '==', '!='])
const POSTFIX_BP = 80
const MAX_DEPTH = 200

export function parseExpr(source: string): ParsedExpr {
  const tokens = tokenize(source)
  let pos = 0
  let depth = 0

  // the tokens end with 'eof': reading on past it reads 'eof' again
  const eof: Token = { type: 'eof', value: '', start: source.length, end: source.length }
  const peek = (): Token => tokens[pos] ?? eof
  const next = (): Token => tokens[pos++] ?? eof

  function describe(t: Token): string {
    if (t.type === 'eof') return 'end of expression'
    if (t.type === 'str') return `string "${t.value}"`
    return `'${source.slice(t.start, t.end)}'`
  }

  function unexpected(t: Token, expected?: string): never {
    if (t.type === 'eof') {
      throw new ExprError(
        'syntax',
        `unexpected end of expression${expected ? `, expected ${expected}` : ''}`,
        t.start,
        0,
      )
    }
    let hint: string | undefined
    if (t.type === 'ident' || t.type === 'num' || t.type === 'str' || t.type === '(')
      hint = 'an operator is missing before it'
    throw new ExprError(
      'syntax',
      `unexpected ${describe(t)}${expected ? `, expected ${expected}` : ''}`,
      t.start,
      t.end - t.start,
      hint,
    )
  }

  function expect(type: Token['type'], what: string, open?: Token): Token {
    const t = peek()
    if (t.type !== type) {
      if (open && t.type === 'eof') {
        throw new ExprError('syntax', `'${open.value}' is never closed`, open.start, 1, `add '${what}'`)
      }
      unexpected(t, `'${what}'`)
    }
    return next()
  }

  function parse(rbp: number): Node {
    if (++depth > MAX_DEPTH) {
      const t = peek()
      throw new ExprError(
        'syntax',
        `expression nested too deeply (more than ${MAX_DEPTH} levels)`,
        t.start,
        t.end - t.start,
      )
    }
    let left = nud(next())
    for (;;) {
      const t = peek()
      let lbp = 0
      if (t.type === 'op' && isBinaryOp(t.value)) lbp = BINARY_BP[t.value]
      else if (t.type === '[') lbp = POSTFIX_BP
      else if (t.type === '(') {
        throw new ExprError(
          'syntax',
          'only functions can be called',
          t.start,
          1,
          'a function name goes right before "("; otherwise an operator is missing',
        )
      }
      if (lbp <= rbp) break
      next()
      left = led(t, left)
    }
    depth--
    return left
  }

  function nud(t: Token): Node {
    switch (t.type) {
      case 'num':
        return { type: 'num', value: t.num as number, start: t.start, end: t.end }
      case 'str':
        return { type: 'str', value: t.value, start: t.start, end: t.end }
      case 'ident': {
        if (peek().type === '(') return parseCall(t)
        return { type: 'var', name: t.value, start: t.start, end: t.end }
      }
      case '(': {
        if (peek().type === ')') throw new ExprError('syntax', 'empty parentheses', t.start, 2)
        const inner = parse(0)
        const close = expect(')', ')', t)
        // keep the span of the parentheses so errors on the group point at all of it
        return { ...inner, start: t.start, end: close.end } as Node
      }
      case 'op': {
        if (t.value === '-' || t.value === '+' || t.value === 'not') {
          const arg = parse(t.value === 'not' ? 25 : 60)
          return {
            type: 'unary',
            op: t.value as UnaryOp,
            arg,
            start: t.start,
            end: arg.end,
            opStart: t.start,
            opEnd: t.end,
          }
        }
        return unexpected(t, 'a value')
      }
      default:
        return unexpected(t, t.type === 'eof' ? 'a value' : undefined)
    }
  }

  function led(t: Token, left: Node): Node {
    if (t.type === '[') {
      if (peek().type === ']')
        throw new ExprError('syntax', 'empty index', t.start, 2, 'write x[0] for the first element')
      const index = parse(0)
      const close = expect(']', ']', t)
      return { type: 'index', target: left, index, start: left.start, end: close.end, bracketStart: t.start }
    }
    const op = t.value as BinaryOp
    const bp = BINARY_BP[op]
    const right = parse(op === '**' ? bp - 1 : bp)
    if (COMPARISON.has(op)) {
      const after = peek()
      if (after.type === 'op' && COMPARISON.has(after.value)) {
        throw new ExprError(
          'syntax',
          `chained comparison '${source.slice(left.start, after.end)} ...' is not supported`,
          after.start,
          after.end - after.start,
          'combine two comparisons with and: (a < b) and (b < c)',
        )
      }
    }
    return { type: 'binary', op, left, right, start: left.start, end: right.end, opStart: t.start, opEnd: t.end }
  }

  function parseCall(nameTok: Token): Node {
    const open = next() // '('
    const args: Node[] = []
    if (peek().type !== ')') {
      for (;;) {
        args.push(parse(0))
        const t = peek()
        if (t.type === ',') {
          next()
          continue
        }
        if (t.type === ')') break
        if (t.type === 'eof')
          throw new ExprError('syntax', `'(' of ${nameTok.value}() is never closed`, open.start, 1, "add ')'")
        unexpected(t, "',' or ')'")
      }
    }
    const close = next()
    const name = nameTok.value
    const fn = FUNCTIONS[name]
    if (!fn) {
      const guess = didYouMean(name, functionNames())
      throw new ExprError(
        'name',
        `unknown function '${name}'${guess ? `; did you mean '${guess}'?` : ''}`,
        nameTok.start,
        nameTok.end - nameTok.start,
        guess ? `did you mean '${guess}'?` : `functions: ${functionNames().join(', ')}`,
      )
    }
    if (args.length < fn.minArgs || args.length > fn.maxArgs) {
      const want =
        fn.minArgs === fn.maxArgs
          ? `${fn.minArgs} argument${fn.minArgs === 1 ? '' : 's'}`
          : fn.maxArgs === Infinity
            ? `at least ${fn.minArgs} arguments`
            : `${fn.minArgs} to ${fn.maxArgs} arguments`
      throw new ExprError(
        'type',
        `${name}() takes ${want}, got ${args.length}`,
        nameTok.start,
        close.end - nameTok.start,
        fn.signature,
      )
    }
    return { type: 'call', name, args, start: nameTok.start, end: close.end, nameEnd: nameTok.end }
  }

  if (tokens.length === 1) throw new ExprError('syntax', 'empty expression', 0, 0)
  const ast = parse(0)
  const t = peek()
  if (t.type !== 'eof') {
    if (t.type === ')' || t.type === ']') throw new ExprError('syntax', `unmatched '${t.value}'`, t.start, 1)
    unexpected(t)
  }
  return { source, ast }
}

/** Names of the variables an expression reads (first occurrence order). */
export function exprVariables(ast: Node): string[] {
  const seen = new Set<string>()
  const walk = (n: Node): void => {
    switch (n.type) {
      case 'var':
        seen.add(n.name)
        break
      case 'unary':
        walk(n.arg)
        break
      case 'binary':
        walk(n.left)
        walk(n.right)
        break
      case 'call':
        n.args.forEach(walk)
        break
      case 'index':
        walk(n.target)
        walk(n.index)
        break
      default:
        break
    }
  }
  walk(ast)
  return [...seen]
}
