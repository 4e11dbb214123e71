/**
 * What a `controlroom` command is and the helpers the workflow commands share (validate, plan):
 * kept apart from the dispatcher (main.ts) so that these commands import nothing of the run engine.
 */
import { readFile } from 'node:fs/promises'
import type { CompileResult, Problem } from '../workflow/index.ts'
import { compileWorkflow } from '../workflow/index.ts'
import { renderProblem } from './render.ts'

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

/** The one FILE argument of a command. */
export function fileArgument(args: ParsedArgs): string {
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

export function problemJson(p: Problem, file: string) {
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

export function compileFile(file: string, text: string, flags: ParsedArgs['flags']): CompileResult {
  return compileWorkflow(text, { fileName: file, forRun: flags['for-run'] === true })
}

export function printProblems(io: CliIO, result: CompileResult, file: string, text: string) {
  for (const p of result.problems) io.stderr.write(renderProblem(p, file, text, io.color === true) + '\n')
}

export function summaryLine(result: CompileResult, file: string): string {
  const errors = result.problems.filter((p) => p.severity === 'error').length
  const warnings = result.problems.length - errors
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`
  if (errors) return `${file}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`
  const stages = result.plan?.stages.length ?? 0
  const pools = result.plan?.pools.length ?? 0
  return `${file}: valid (${plural(stages, 'stage')}, ${plural(pools, 'pool')}${warnings ? `, ${plural(warnings, 'warning')}` : ''})`
}

/** the flag of `validate` and `plan` that skips the site check (a laptop checking a cluster's file) */
export const NO_SITE_FLAG = 'no-site'

type SiteCheck = (text: string) => Promise<Problem[]>
let siteCheck: SiteCheck | null = null

/** installs the site check (main.ts: server/cli/site-check.ts) */
export function setSiteCheck(check: SiteCheck) {
  siteCheck = check
}

/**
 * The compile result with the site's problems added (an error-level one makes it not ok). No check
 * when the workflow does not compile (its problems say why, as in the composer) or with --no-site.
 */
export async function withSiteCheck(
  text: string,
  result: CompileResult,
  flags: ParsedArgs['flags'],
): Promise<CompileResult> {
  if (flags[NO_SITE_FLAG] === true || !result.ok || !result.plan) return result
  if (!siteCheck) throw new Error('no site check installed: run the command through main()')
  const site = await siteCheck(text)
  if (site.length === 0) return result
  return {
    ...result,
    ok: !site.some((p) => p.severity === 'error'),
    problems: [...result.problems, ...site],
  }
}

/** `validate` and `plan`: FILE read and compiled, with this site's problems added (unless --no-site) */
export async function checkWorkflowFile(args: ParsedArgs, io: CliIO) {
  const file = fileArgument(args)
  const text = await readWorkflowFile(file, io)
  const compiled = compileFile(file, text, args.flags)
  return { file, text, compiled, result: await withSiteCheck(text, compiled, args.flags) }
}

/** the problems as `--json` prints them: errors and warnings apart */
export function problemsJson(problems: readonly Problem[], file: string) {
  return {
    errors: problems.filter((p) => p.severity === 'error').map((p) => problemJson(p, file)),
    warnings: problems.filter((p) => p.severity === 'warning').map((p) => problemJson(p, file)),
  }
}
