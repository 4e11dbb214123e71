/**
 * The one error type of the expression language.
 *
 * `column` is the 0-based offset inside the expression text and `length` the number of characters
 * the problem spans (0 at the end of the text), so a caller can point into the YAML:
 * YAML column of the expression string start + `column` (for plain scalars).
 */
export type ExprErrorKind = 'syntax' | 'name' | 'type' | 'runtime'

export interface ExprErrorInfo {
  message: string
  column: number
  length: number
  hint?: string
}

export class ExprError extends Error {
  readonly kind: ExprErrorKind
  readonly column: number
  readonly length: number
  readonly hint?: string
  /** the expression text (when known) */
  expr?: string
  /** where the expression sits inside op params, e.g. ['histograms', 0, 'expr'] (set by the ops) */
  path?: (string | number)[]

  constructor(kind: ExprErrorKind, message: string, column: number, length: number, hint?: string) {
    super(message)
    this.name = 'ExprError'
    this.kind = kind
    this.column = column
    this.length = Math.max(0, length)
    this.hint = hint
  }

  toJSON(): ExprErrorInfo & { kind: ExprErrorKind; path?: (string | number)[] } {
    const o: ExprErrorInfo & { kind: ExprErrorKind; path?: (string | number)[] } = {
      message: this.message,
      column: this.column,
      length: this.length,
      kind: this.kind,
    }
    if (this.hint !== undefined) o.hint = this.hint
    if (this.path !== undefined) o.path = this.path
    return o
  }

  /** A caret display: the expression, then `^^^` under the offending span, then message and hint. */
  format(): string {
    const lines: string[] = []
    if (this.expr !== undefined) {
      lines.push(`  ${this.expr}`)
      lines.push(`  ${' '.repeat(this.column)}${'^'.repeat(Math.max(1, this.length))}`)
    }
    lines.push(`${this.message}${this.hint ? ` (${this.hint})` : ''}`)
    return lines.join('\n')
  }
}
