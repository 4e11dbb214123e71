#!/usr/bin/env node
// controlroom CLI entry point. Runs the CLI prebuilt to JavaScript (server/cli/build-cli.mjs: one
// esbuild bundle, rebuilt here first when a source is newer than it); when it cannot be built, the
// TypeScript sources run through tsx.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureCli, ROOT } from '../server/cli/build-cli.mjs'

const bundle = await ensureCli()
let main
if (bundle) {
  // the bundled sources find their runtime files (task runtime, migrations, bridge.py) under the app root
  process.env.CONTROLROOM_APP_ROOT ??= ROOT
  ;({ main } = await import(bundle))
} else {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'server', 'cli', 'main.ts')))
}
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
})
