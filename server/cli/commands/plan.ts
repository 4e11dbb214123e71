/**
 * `controlroom plan`: where every stage of a workflow runs (--json: the execution plan), and whether
 * this site can give its pools (the composer's site check; `--no-site` skips it).
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
import { renderPlan, renderProblem } from '../render.ts'

export const planCommand: Command = {
  name: 'plan',
  summary:
    'compile a workflow, show where every stage runs (--json: the execution plan) and check that this site can give its pools (--no-site: skip)',
  usage: 'plan FILE [--json] [--for-run] [--no-site]',
  flags: ['json', 'for-run', NO_SITE_FLAG],
  async run(args, io) {
    const { file, text, compiled, result } = await checkWorkflowFile(args, io)
    const site = result.problems.slice(compiled.problems.length)
    if (args.flags.json) {
      if (result.ok && result.plan) {
        // the site's warnings beside the compiler's, in the plan's own list
        const plan = site.length ? { ...result.plan, warnings: [...result.plan.warnings, ...site] } : result.plan
        io.stdout.write(JSON.stringify(plan, null, 2) + '\n')
      } else {
        io.stdout.write(JSON.stringify(problemsJson(result.problems, file), null, 2) + '\n')
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
}
