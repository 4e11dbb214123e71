/** Function catalogue of the expression language (the evaluator implements each one). */

export type FunctionClass =
  /** applied element by element; arguments broadcast like operators */
  | 'elementwise'
  /** reduces each event's list (a jagged argument) to one value per event */
  | 'reducer'

export interface FunctionInfo {
  name: string
  cls: FunctionClass
  minArgs: number
  maxArgs: number
  signature: string
  doc: string
}

const fns: FunctionInfo[] = [
  { name: 'abs', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'abs(x)', doc: 'absolute value' },
  { name: 'sqrt', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'sqrt(x)', doc: 'square root (NaN below 0)' },
  { name: 'exp', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'exp(x)', doc: 'e to the power x' },
  { name: 'log', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'log(x)', doc: 'natural logarithm' },
  { name: 'log10', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'log10(x)', doc: 'base-10 logarithm' },
  { name: 'sin', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'sin(x)', doc: 'sine (radians)' },
  { name: 'cos', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'cos(x)', doc: 'cosine (radians)' },
  { name: 'tan', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'tan(x)', doc: 'tangent (radians)' },
  { name: 'asin', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'asin(x)', doc: 'arc sine' },
  { name: 'acos', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'acos(x)', doc: 'arc cosine' },
  { name: 'atan', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'atan(x)', doc: 'arc tangent' },
  { name: 'sinh', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'sinh(x)', doc: 'hyperbolic sine' },
  { name: 'cosh', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'cosh(x)', doc: 'hyperbolic cosine' },
  { name: 'tanh', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'tanh(x)', doc: 'hyperbolic tangent' },
  { name: 'floor', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'floor(x)', doc: 'round down' },
  { name: 'ceil', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'ceil(x)', doc: 'round up' },
  { name: 'round', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'round(x)', doc: 'round half up' },
  { name: 'sign', cls: 'elementwise', minArgs: 1, maxArgs: 1, signature: 'sign(x)', doc: '-1, 0 or 1' },
  {
    name: 'isnan',
    cls: 'elementwise',
    minArgs: 1,
    maxArgs: 1,
    signature: 'isnan(x)',
    doc: '1 where x is NaN (missing), else 0',
  },
  {
    name: 'atan2',
    cls: 'elementwise',
    minArgs: 2,
    maxArgs: 2,
    signature: 'atan2(y, x)',
    doc: 'angle of (x, y) in radians',
  },
  {
    name: 'pow',
    cls: 'elementwise',
    minArgs: 2,
    maxArgs: 2,
    signature: 'pow(x, y)',
    doc: 'x to the power y (same as x ** y)',
  },
  {
    name: 'min',
    cls: 'elementwise',
    minArgs: 2,
    maxArgs: Infinity,
    signature: 'min(a, b, ...)',
    doc: 'element-wise minimum (NaN if any is NaN); minof(x) reduces a list',
  },
  {
    name: 'max',
    cls: 'elementwise',
    minArgs: 2,
    maxArgs: Infinity,
    signature: 'max(a, b, ...)',
    doc: 'element-wise maximum (NaN if any is NaN); maxof(x) reduces a list',
  },
  {
    name: 'hypot',
    cls: 'elementwise',
    minArgs: 2,
    maxArgs: Infinity,
    signature: 'hypot(a, b, ...)',
    doc: 'sqrt(a**2 + b**2 + ...)',
  },
  {
    name: 'where',
    cls: 'elementwise',
    minArgs: 3,
    maxArgs: 3,
    signature: 'where(cond, a, b)',
    doc: 'a where cond is true (non-zero, not NaN), else b',
  },
  {
    name: 'leading',
    cls: 'reducer',
    minArgs: 1,
    maxArgs: 1,
    signature: 'leading(list)',
    doc: 'first element of each list, NaN when empty',
  },
  {
    name: 'subleading',
    cls: 'reducer',
    minArgs: 1,
    maxArgs: 1,
    signature: 'subleading(list)',
    doc: 'second element of each list, NaN when shorter',
  },
  {
    name: 'count',
    cls: 'reducer',
    minArgs: 1,
    maxArgs: 1,
    signature: 'count(list)',
    doc: 'number of elements of each list',
  },
  { name: 'len', cls: 'reducer', minArgs: 1, maxArgs: 1, signature: 'len(list)', doc: 'same as count(list)' },
  {
    name: 'sum',
    cls: 'reducer',
    minArgs: 1,
    maxArgs: 1,
    signature: 'sum(list)',
    doc: 'sum of each list (0 when empty); sum(x > 20) counts passing elements',
  },
  {
    name: 'any',
    cls: 'reducer',
    minArgs: 1,
    maxArgs: 1,
    signature: 'any(list)',
    doc: '1 if some element is true, else 0 (0 when empty)',
  },
  {
    name: 'all',
    cls: 'reducer',
    minArgs: 1,
    maxArgs: 1,
    signature: 'all(list)',
    doc: '1 if every element is true, else 0 (1 when empty)',
  },
  {
    name: 'maxof',
    cls: 'reducer',
    minArgs: 1,
    maxArgs: 1,
    signature: 'maxof(list)',
    doc: 'largest element of each list, NaN when empty',
  },
  {
    name: 'minof',
    cls: 'reducer',
    minArgs: 1,
    maxArgs: 1,
    signature: 'minof(list)',
    doc: 'smallest element of each list, NaN when empty',
  },
]

export const FUNCTIONS: Readonly<Record<string, FunctionInfo>> = Object.freeze(
  Object.fromEntries(fns.map((f) => [f.name, f])),
)

export function functionNames(): string[] {
  return fns.map((f) => f.name)
}

/** Named constants (columns of the same name take precedence). */
export const CONSTANTS: Readonly<Record<string, number>> = Object.freeze({
  pi: Math.PI,
  true: 1,
  false: 0,
  inf: Infinity,
  nan: NaN,
})
