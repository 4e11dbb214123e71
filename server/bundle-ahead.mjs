// Builds a TypeScript entry point ahead of time into one plain-JavaScript ESM bundle (esbuild; packages
// stay external and load from node_modules), and tells whether a bundle is fresh: no source it was
// built from is newer (one stat per source). The hep task runtime (server/hep/build-runtime.mjs), the
// CLI (server/cli/build-cli.mjs) and the compile worker (server/library/build-compile-worker.mjs) are
// built this way, so starting them compiles no TypeScript.
// The list of sources sits beside the bundle: `<name>.mjs` -> `<name>.inputs.json`.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'

const inputsOf = (bundle) => bundle.replace(/\.mjs$/, '.inputs.json')

/** builds `entry` into `bundle` (paths in the list relative to `root`); returns `bundle` */
export async function buildBundle({ root, entry, bundle, banner }) {
  const esbuild = await import('esbuild')
  mkdirSync(path.dirname(bundle), { recursive: true })
  const tmp = `${bundle}.${process.pid}.tmp.mjs`
  const r = await esbuild.build({
    entryPoints: [entry],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    metafile: true,
    logLevel: 'error',
    banner: { js: banner },
  })
  const inputs = Object.keys(r.metafile.inputs).map((f) => path.relative(root, path.resolve(process.cwd(), f)))
  // the list first: a bundle newer than its list would be trusted with the old list
  const list = inputsOf(bundle)
  writeFileSync(`${list}.${process.pid}.tmp`, JSON.stringify(inputs))
  renameSync(`${list}.${process.pid}.tmp`, list)
  renameSync(tmp, bundle)
  return bundle
}

/** true when `bundle` exists and no source in its list (relative to `root`) is newer */
export function bundleFresh({ root, bundle }) {
  let built
  try {
    built = statSync(bundle).mtimeMs
  } catch {
    return false
  }
  try {
    const inputs = JSON.parse(readFileSync(inputsOf(bundle), 'utf8'))
    if (!Array.isArray(inputs) || inputs.length === 0) return false
    for (const f of inputs) {
      const st = statSync(path.join(root, f), { throwIfNoEntry: false })
      if (!st || st.mtimeMs > built) return false
    }
  } catch {
    return false
  }
  return true
}
