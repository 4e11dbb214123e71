/**
 * `controlroom validate`: report every problem of a workflow with its FILE:LINE:COL, the site's
 * among them (a pool this host or cluster cannot give; `--no-site` skips that check).
 */
import {
  type Command,
  compileFile,
  EXIT_INVALID,
  EXIT_OK,
  fileArgument,
  NO_SITE_FLAG,
  printProblems,
  problemJson,
  readWorkflowFile,
  summaryLine,
  withSiteCheck,
} from '../command.ts'

export const validateCommand: Command = {
  name: 'validate',
  summary:
    'check a workflow and report every problem with its position, and whether this site can give its pools (--no-site: skip)',
  usage: 'validate FILE [--json] [--for-run] [--no-site]',
  flags: ['json', 'for-run', NO_SITE_FLAG],
  async run(args, io) {
    const file = fileArgument(args)
    const text = await readWorkflowFile(file, io)
    const compiled = compileFile(file, text, args.flags)
    const result = await withSiteCheck(text, compiled, args.flags)
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
}
