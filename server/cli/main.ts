/**
 * `controlroom` command-line interface: a small command dispatcher.
 *
 *   controlroom validate FILE [--json] [--for-run] [--no-site]
 *   controlroom plan FILE [--json] [--for-run] [--no-site]
 *   controlroom help [COMMAND]
 *
 * Exit codes: 0 valid, 1 the workflow has errors, 2 usage errors (unknown command or option,
 * missing or unreadable file).
 *
 * Later commands (`run`, `runs`, ...) register themselves with `registerCommand`.
 */
import { parseArgs as parseArgsStrict } from 'node:util'
import { type CliIO, type Command, EXIT_OK, EXIT_USAGE, type ParsedArgs, setSiteCheck, UsageError } from './command.ts'
import { planCommand } from './commands/plan.ts'
import { validateCommand } from './commands/validate.ts'
import { siteProblemsFor } from './site-check.ts'
import { terminalSafe } from './render.ts'
import { runCommand } from './commands/run.ts'
import { runsCommand } from './commands/runs.ts'

export type { CliIO, Command, ParsedArgs, Writable } from './command.ts'
export { EXIT_INVALID, EXIT_OK, EXIT_USAGE, readWorkflowFile, UsageError } from './command.ts'

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

// ---- commands ---------------------------------------------------------------------------------

setSiteCheck(siteProblemsFor)
registerCommand(validateCommand)
registerCommand(planCommand)

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
