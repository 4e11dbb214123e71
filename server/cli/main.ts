/**
 * `controlroom` command-line interface: a small command dispatcher.
 *
 *   controlroom validate FILE [--json] [--for-run]
 *   controlroom plan FILE [--json] [--for-run]
 *   controlroom help [COMMAND]
 *
 * Exit codes: 0 valid, 1 the workflow has errors, 2 usage errors (unknown command or option,
 * missing or unreadable file).
 *
 * Later commands (`run`, `runs`, ...) register themselves with `registerCommand`.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs as parseArgsStrict } from 'node:util'
import { compileWorkflow } from '../workflow/index.ts'
import type { CompileResult, Problem } from '../workflow/index.ts'
import { renderPlan, renderProblem, terminalSafe } from './render.ts'
import { runCommand } from './commands/run.ts'
import { runsCommand } from './commands/runs.ts'

export interface Writable {
  write(chunk: string): unknown
}

export interface CliIO {
  stdout: Writable
  stderr: Writable
  /** file reader (defaults to fs.readFile utf8); injectable for tests */
  readFile?: (path: string) => Promise<string>
  /** colour output (default false) */
  color?: boolean
}

export interface ParsedArgs {
  positional: string[]
  flags: Record<string, string | boolean>
}

export interface Command {
  name: string
  summary: string
  usage: string
  /** flags the command accepts (without the leading --); a trailing '=' means it takes a value */
  flags: string[]
  run(args: ParsedArgs, io: CliIO): Promise<number>
}

export const EXIT_OK = 0
export const EXIT_INVALID = 1
export const EXIT_USAGE = 2

export class UsageError extends Error {}

const commands = new Map<string, Command>()

export function registerCommand(cmd: Command): void {
  commands.set(cmd.name, cmd)
}

export function listCommands(): Command[] {
  return [...commands.values()]
}

/**
 * Options with node:util's parseArgs (strict: unknown options and missing values are usage
 * errors); its messages are replaced by ones that name the command and its options.
 */
function parseArgs(argv: string[], cmd: Command): ParsedArgs {
  const options: NonNullable<Parameters<typeof parseArgsStrict>[0]>['options'] = {
    help: { type: 'boolean', short: 'h' },
  }
  for (const f of cmd.flags) {
    if (f.endsWith('=')) options[f.slice(0, -1)] = { type: 'string' }
    else options[f] = { type: 'boolean' }
  }
  let parsed: ReturnType<typeof parseArgsStrict>
  try {
    parsed = parseArgsStrict({ args: argv, options, allowPositionals: true, strict: true })
  } catch (e) {
    const err = e as Error & { code?: string }
    const opt = /'(-[^' ]+)/.exec(err.message)?.[1] ?? ''
    const name = opt.replace(/^-+/, '')
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(
        opt.startsWith('--')
          ? `unknown option '--${name.split('=')[0]}' for '${cmd.name}' (options: ${cmd.flags.map((f) => '--' + f.replace(/=$/, ' VALUE')).join(', ') || 'none'})`
          : `unknown option '${opt}' for '${cmd.name}'`,
      )
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (cmd.flags.includes(name.split(/[= ]/)[0] ?? ''))
        throw new UsageError(`option '--${name.split(/[= ]/)[0]}' takes no value`)
      throw new UsageError(`option '--${name.split(/[= ]/)[0]}' needs a value`)
    }
    throw new UsageError(err.message)
  }
  const flags: Record<string, string | boolean> = {}
  for (const [k, v] of Object.entries(parsed.values)) if (typeof v === 'string' || typeof v === 'boolean') flags[k] = v
  return { positional: parsed.positionals, flags }
}

function helpText(): string {
  const lines = [
    'controlroom: compile, validate and run FAST-HEP workflows',
    '',
    'Usage: controlroom <command> [options]',
    '',
    'Commands:',
  ]
  const width = Math.max(...listCommands().map((c) => c.usage.length), 10)
  for (const c of listCommands()) lines.push(`  ${c.usage.padEnd(width)}  ${c.summary}`)
  lines.push('', 'Exit codes: 0 valid, 1 workflow errors, 2 usage errors.', '')
  return lines.join('\n')
}

/** Run the CLI with the arguments after the program name. Returns the exit code. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const args = [...argv]
  const name = args.shift()
  if (!name) {
    io.stderr.write(helpText())
    return EXIT_USAGE
  }
  if (name === '--help' || name === '-h') {
    io.stdout.write(helpText())
    return EXIT_OK
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write('controlroom 0.1.0\n')
    return EXIT_OK
  }
  const cmd = commands.get(name)
  if (!cmd) {
    const names = listCommands().map((c) => c.name)
    io.stderr.write(`controlroom: unknown command '${name}' (commands: ${names.join(', ')}). Run 'controlroom help'.\n`)
    return EXIT_USAGE
  }
  // stdout carries the command's output only (with --json: JSON and nothing else); whatever a
  // library logs (the database's "[db] applied migration ...") goes to stderr
  const saved = { log: console.log, info: console.info }
  console.log = console.error
  console.info = console.error
  // never a raw control character on the terminal (stage ids and logs come from users)
  const colour = io.color === true
  const safeIo: CliIO = {
    ...io,
    stdout: { write: (c: string) => io.stdout.write(terminalSafe(c, colour)) },
    stderr: { write: (c: string) => io.stderr.write(terminalSafe(c, colour)) },
  }
  try {
    const parsed = parseArgs(args, cmd)
    if (parsed.flags.help) {
      safeIo.stdout.write(`Usage: controlroom ${cmd.usage}\n\n${cmd.summary}\n`)
      return EXIT_OK
    }
    return await cmd.run(parsed, safeIo)
  } catch (e) {
    if (e instanceof UsageError) {
      safeIo.stderr.write(`controlroom ${cmd.name}: ${e.message}\nUsage: controlroom ${cmd.usage}\n`)
      return EXIT_USAGE
    }
    throw e
  } finally {
    console.log = saved.log
    console.info = saved.info
  }
}

// ---- shared helpers ---------------------------------------------------------------------------

/** The one FILE argument of a command. */
function fileArgument(args: ParsedArgs): string {
  if (args.positional.length > 1) throw new UsageError(`expected one FILE, got ${args.positional.length}`)
  const [file] = args.positional
  if (!file) throw new UsageError('missing FILE argument')
  return file
}

export async function readWorkflowFile(file: string | undefined, io: CliIO): Promise<string> {
  if (!file) throw new UsageError('missing FILE argument')
  const reader = io.readFile ?? ((p: string) => readFile(p, 'utf8'))
  try {
    return await reader(file)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : String((e as Error)?.message ?? e)
    throw new UsageError(`cannot read '${file}': ${why}`)
  }
}

function problemJson(p: Problem, file: string) {
  return {
    file,
    code: p.code,
    severity: p.severity,
    message: p.message,
    ...(p.hint ? { hint: p.hint } : {}),
    range: p.range,
    path: p.path,
  }
}

function compileFile(file: string, text: string, flags: ParsedArgs['flags']): CompileResult {
  return compileWorkflow(text, { fileName: file, forRun: flags['for-run'] === true })
}

function printProblems(io: CliIO, result: CompileResult, file: string, text: string) {
  for (const p of result.problems) io.stderr.write(renderProblem(p, file, text, io.color === true) + '\n')
}

function summaryLine(result: CompileResult, file: string): string {
  const errors = result.problems.filter((p) => p.severity === 'error').length
  const warnings = result.problems.length - errors
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`
  if (errors) return `${file}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`
  const stages = result.plan?.stages.length ?? 0
  const pools = result.plan?.pools.length ?? 0
  return `${file}: valid (${plural(stages, 'stage')}, ${plural(pools, 'pool')}${warnings ? `, ${plural(warnings, 'warning')}` : ''})`
}

// ---- commands ---------------------------------------------------------------------------------

registerCommand({
  name: 'validate',
  summary: 'check a workflow and report every problem with its position',
  usage: 'validate FILE [--json] [--for-run]',
  flags: ['json', 'for-run'],
  async run(args, io) {
    const file = fileArgument(args)
    const text = await readWorkflowFile(file, io)
    const result = compileFile(file, text, args.flags)
    if (args.flags.json) {
      const out = {
        ok: result.ok,
        errors: result.problems.filter((p) => p.severity === 'error').map((p) => problemJson(p, file)),
        warnings: result.problems.filter((p) => p.severity === 'warning').map((p) => problemJson(p, file)),
      }
      io.stdout.write(JSON.stringify(out, null, 2) + '\n')
    } else {
      printProblems(io, result, file, text)
      ;(result.ok ? io.stdout : io.stderr).write(summaryLine(result, file) + '\n')
    }
    return result.ok ? EXIT_OK : EXIT_INVALID
  },
})

registerCommand({
  name: 'plan',
  summary: 'compile a workflow and show where every stage runs (--json: the execution plan)',
  usage: 'plan FILE [--json] [--for-run]',
  flags: ['json', 'for-run'],
  async run(args, io) {
    const file = fileArgument(args)
    const text = await readWorkflowFile(file, io)
    const result = compileFile(file, text, args.flags)
    if (args.flags.json) {
      if (result.ok && result.plan) {
        io.stdout.write(JSON.stringify(result.plan, null, 2) + '\n')
      } else {
        const out = {
          errors: result.problems.filter((p) => p.severity === 'error').map((p) => problemJson(p, file)),
          warnings: result.problems.filter((p) => p.severity === 'warning').map((p) => problemJson(p, file)),
        }
        io.stdout.write(JSON.stringify(out, null, 2) + '\n')
      }
      return result.ok ? EXIT_OK : EXIT_INVALID
    }
    if (!result.ok || !result.plan) {
      printProblems(io, result, file, text)
      io.stderr.write(summaryLine(result, file) + '\n')
      return EXIT_INVALID
    }
    io.stdout.write(renderPlan(result.plan, file) + '\n')
    for (const p of result.problems) io.stdout.write(renderProblem(p, file, text, io.color === true) + '\n')
    return EXIT_OK
  },
})

registerCommand({
  name: 'help',
  summary: 'show this help, or the usage of one command',
  usage: 'help [COMMAND]',
  flags: [],
  async run(args, io) {
    const which = args.positional[0]
    if (which) {
      const c = commands.get(which)
      if (!c) throw new UsageError(`unknown command '${which}'`)
      io.stdout.write(`Usage: controlroom ${c.usage}\n\n${c.summary}\n`)
      return EXIT_OK
    }
    io.stdout.write(helpText())
    return EXIT_OK
  },
})

registerCommand(runCommand())
registerCommand(runsCommand())
