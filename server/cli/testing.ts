/**
 * For tests: the CLI's `main` in this process, with FILE's text given (no file is read) and what it
 * prints collected. Slower paths (the built bundle, a real file) are tested in cli.test.ts.
 */
import { main } from './main.ts'

export async function runCli(args: string[], text: string) {
  let stdout = ''
  let stderr = ''
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    readFile: async () => text,
  })
  return { code, stdout, stderr }
}
