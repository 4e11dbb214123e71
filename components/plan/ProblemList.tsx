'use client'
/**
 * The one list of problems: the composer's Problems tab (each problem a button that jumps to its
 * line, so Tab reaches it and Enter acts as a click) and the Submission tab's compile and preflight
 * problems (no position to jump to: plain rows).
 */
export interface ListedProblem {
  code: string
  severity: 'error' | 'warning'
  message: string
  hint?: string
  /** where in the YAML (compile problems); shown as line:col */
  range?: { start: { line: number; col: number } }
}

export function ProblemList<P extends ListedProblem>({
  problems,
  onProblemClick,
  testId = 'problems-list',
  className,
  emptyText,
}: {
  problems: readonly P[]
  /** makes every problem a button: jump to it */
  onProblemClick?(p: P): void
  testId?: string
  className?: string
  /** shown when there is nothing (omit: an empty list) */
  emptyText?: string
}) {
  return (
    <ul className={`problems-list${className ? ` ${className}` : ''}`} data-testid={testId}>
      {problems.length === 0 && emptyText ? <li className="muted">{emptyText}</li> : null}
      {problems.map((p, i) => {
        const body = (
          <>
            <span className="sev" role="img" aria-label={p.severity}>
              {p.severity === 'error' ? '✖' : '▲'}
            </span>
            {p.range ? (
              <span className="loc mono">
                {p.range.start.line}:{p.range.start.col}
              </span>
            ) : null}
            <span className="msg">
              {p.message}
              {p.hint ? <span className="hint"> {p.hint}</span> : null}
            </span>
            <span className="code muted mono">{p.code}</span>
          </>
        )
        return (
          <li
            // biome-ignore lint/suspicious/noArrayIndexKey: problems have no identity; the list is replaced whole
            key={i}
            className={`${p.severity}${p.range ? '' : ' no-loc'}`}
            data-testid="problem"
            data-code={p.code}
            data-line={p.range?.start.line}
            data-severity={p.severity}
          >
            {onProblemClick ? (
              <button
                type="button"
                className="problem-link"
                onClick={() => onProblemClick(p)}
                title={p.range ? `go to line ${p.range.start.line}` : undefined}
              >
                {body}
              </button>
            ) : (
              body
            )}
          </li>
        )
      })}
    </ul>
  )
}
