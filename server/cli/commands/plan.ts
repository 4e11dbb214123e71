/** `controlroom plan`: where every stage of a workflow runs (--json: the execution plan). */
import {
  type Command,
  compileFile,
  EXIT_INVALID,
  EXIT_OK,
  fileArgument,
  printProblems,
  problemJson,
  readWorkflowFile,
  summaryLine,
} from '../command.ts'
import { renderPlan, renderProblem } from '../render.ts'

export const planCommand: Command = {
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
}
