/**
 * `{param}` placeholders of custom ops (`registry.ops`), filled so that a value is always DATA:
 *
 *   - an argv element of a command list gets the value spliced into that one element (execve
 *     passes it to the program unchanged: no shell sees it);
 *   - shell text (a string command, or the script after `-c` of `["sh", "-c", "..."]`) never
 *     contains the value: the placeholder becomes a reference to an environment variable
 *     (`{msg}` -> `"${CR_P_msg}"` where the text is unquoted, `${CR_P_msg}` inside double quotes,
 *     `'"${CR_P_msg}"'` inside single quotes) and the variable carries the value. The shell expands
 *     a variable without parsing its value again, so `$(...)`, backquotes, `;` or quotes in a value
 *     are text, wherever the placeholder sits.
 */
import path from 'node:path'

export const PLACEHOLDER = /\{([A-Za-z_][\w.-]*)\}/g

export class PlaceholderError extends Error {}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'mksh', 'busybox'])

export function valueText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v)
}

function lookup(values: Record<string, unknown>, name: string, m: string): string {
  if (!(name in values)) throw new PlaceholderError(`placeholder ${m} has no value (not a stage param)`)
  return valueText(values[name])
}

/** Environment variable names for placeholders (CR_P_<name>, `.` and `-` as `_`, unique). */
class VarNames {
  readonly env: Record<string, string> = {}
  private byName = new Map<string, string>()
  varFor(name: string, value: string): string {
    let v = this.byName.get(name)
    if (!v) {
      const base = `CR_P_${name.replace(/[^A-Za-z0-9_]/g, '_')}`
      v = base
      for (let i = 2; v in this.env; i++) v = `${base}_${i}`
      this.byName.set(name, v)
      this.env[v] = value
    }
    return v
  }
}

/** Placeholders of one argv element: the value spliced in as text (the element stays one argument). */
export function substituteArg(arg: string, values: Record<string, unknown>): string {
  return arg.replace(PLACEHOLDER, (m, name: string) => lookup(values, name, m))
}

/**
 * Placeholders of shell text replaced by variable references that fit the quoting where they
 * stand (a small POSIX sh lexer: single quotes, double quotes, backslash escapes).
 */
function substituteShellWith(script: string, values: Record<string, unknown>, names: VarNames): string {
  let out = ''
  let state: 'plain' | 'single' | 'double' = 'plain'
  for (let i = 0; i < script.length; ) {
    const c = script[i]!
    if (c === '{') {
      PLACEHOLDER.lastIndex = i
      const m = PLACEHOLDER.exec(script)
      if (m && m.index === i) {
        const v = names.varFor(m[1]!, lookup(values, m[1]!, m[0]))
        out += state === 'plain' ? `"\${${v}}"` : state === 'double' ? `\${${v}}` : `'"\${${v}}"'`
        i += m[0].length
        continue
      }
    }
    if (c === '\\' && state !== 'single') {
      out += script.slice(i, i + 2)
      i += 2
      continue
    }
    if (c === "'" && state !== 'double') state = state === 'single' ? 'plain' : 'single'
    else if (c === '"' && state !== 'single') state = state === 'double' ? 'plain' : 'double'
    out += c
    i++
  }
  PLACEHOLDER.lastIndex = 0
  return out
}

export function substituteShell(
  script: string,
  values: Record<string, unknown>,
): { script: string; env: Record<string, string> } {
  const names = new VarNames()
  return { script: substituteShellWith(script, values, names), env: names.env }
}

/**
 * A command list: elements are argv, except the script of a shell's `-c` (sh, bash, ...), which is
 * shell text. Returns the argv and the variables the shell text refers to.
 */
export function substituteArgv(
  argv: string[],
  values: Record<string, unknown>,
): { argv: string[]; env: Record<string, string> } {
  const names = new VarNames()
  const shell = argv.length > 0 && SHELLS.has(path.basename(argv[0]!))
  let script = -1
  if (shell) {
    // the first operand after options that contain `c` (sh -c, sh -ec, bash -lc ...)
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!
      if (!a.startsWith('-') || a === '--') break
      if (/^-[A-Za-z]*c[A-Za-z]*$/.test(a)) {
        script = i + 1
        break
      }
    }
  }
  const out = argv.map((a, i) => (i === script ? substituteShellWith(a, values, names) : substituteArg(a, values)))
  return { argv: out, env: names.env }
}
