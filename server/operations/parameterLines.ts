/** Run parameter lines (`Stage.param = value`, `execution.key = value`): parsing only. Pure, browser-safe. */

export interface RunParameter {
  /** `Select.cut` or `execution.pools.default.workers` as written */
  key: string
  /** the value as written (YAML) */
  value: string
}

export interface ParameterProblem {
  line: number
  message: string
}

const LINE = /^\s*([A-Za-z_][\w-]*(?:\.[\w-]+)+)\s*=\s*(.*?)\s*$/

/** parse the override lines; blank lines and `# comments` are skipped */
export function parseParameterLines(text: string): { parameters: RunParameter[]; problems: ParameterProblem[] } {
  const parameters: RunParameter[] = []
  const problems: ParameterProblem[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (!line || line.startsWith('#')) return
    const m = LINE.exec(line)
    if (!m) {
      problems.push({
        line: i + 1,
        message: `expected \`Stage.param = value\` or \`execution.key = value\`, got \`${line.slice(0, 80)}\``,
      })
      return
    }
    if (m[2] === '') problems.push({ line: i + 1, message: `${m[1]} has no value after =` })
    else parameters.push({ key: m[1]!, value: m[2]! })
  })
  return { parameters, problems }
}
