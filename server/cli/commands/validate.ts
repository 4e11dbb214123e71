/**
 * `controlroom validate`: report every problem of a workflow with its FILE:LINE:COL, the site's
 * among them (a pool this host or cluster cannot give; `--no-site` skips that check).
 */
import {
  type Command,
  checkWorkflowFile,
  EXIT_INVALID,
  EXIT_OK,
  NO_SITE_FLAG,
  printProblems,
  problemsJson,
  summaryLine,
} from '../command.ts'

export const validateCommand: Command = {
  name: 'validate',
  summary:
    'check a workflow and report every problem with its position, and whether this site can give its pools (--no-site: skip)',
  usage: 'validate FILE [--json] [--for-run] [--no-site]',
  flags: ['json', 'for-run', NO_SITE_FLAG],
  async run(args, io) {
    const { file, text, result } = await checkWorkflowFile(args, io)
    if (args.flags.json) {
      const out = { ok: result.ok, ...problemsJson(result.problems, file) }
      io.stdout.write(JSON.stringify(out, null, 2) + '\n')
    } else {
      printProblems(io, result, file, text)
      ;(result.ok ? io.stdout : io.stderr).write(summaryLine(result, file) + '\n')
    }
    return result.ok ? EXIT_OK : EXIT_INVALID
  },
}
