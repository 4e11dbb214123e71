// Builds a TypeScript entry point ahead of time into one plain-JavaScript ESM bundle (esbuild; packages
// stay external and load from node_modules), and tells whether a bundle is fresh: no source it was
// built from is newer (one stat per source). The hep task runtime (server/hep/build-runtime.mjs), the
// CLI (server/cli/build-cli.mjs) and the compile worker (server/library/build-compile-worker.mjs) are
// built this way, so starting them compiles no TypeScript.
// The list of sources sits beside the bundle: `<name>.mjs` -> `<name>.inputs.json`.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'

const inputsOf = (bundle) => bundle.replace(/\.mjs$/, '.inputs.json')

/**
 * builds `entry` into `bundle` (paths in the list relative to `root`); returns `bundle`.
 * `splitting`: modules the sources import lazily (`await import(...)`) become chunks in `chunks/`
 * beside the bundle, loaded with the packages they import only when first imported (without it,
 * every package any lazy module imports is loaded when the bundle starts).
 */
export async function buildBundle({ root, entry, bundle, banner, splitting = false }) {
  const esbuild = await import('esbuild')
  const dir = path.dirname(bundle)
  mkdirSync(dir, { recursive: true })
  const tmp = `${bundle}.${process.pid}.tmp.mjs`
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    metafile: true,
    logLevel: 'error',
    banner: { js: banner },
  }
  let r
  if (splitting) {
    // built into a directory of its own, then moved: the chunks (content-hashed names, so one
    // already in place is the same file) first, the entry last
    const name = path.basename(bundle, '.mjs')
    const out = path.join(dir, `.build-${process.pid}`)
    r = await esbuild.build({
      ...common,
      entryPoints: { [name]: entry },
      outdir: out,
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      outExtension: { '.js': '.mjs' },
    })
    mkdirSync(path.join(dir, 'chunks'), { recursive: true })
    for (const f of readdirSync(path.join(out, 'chunks'), { withFileTypes: true }).filter((d) => d.isFile()))
      renameSync(path.join(out, 'chunks', f.name), path.join(dir, 'chunks', f.name))
    renameSync(path.join(out, `${name}.mjs`), tmp)
    rmSync(out, { recursive: true, force: true })
  } else r = await esbuild.build({ ...common, entryPoints: [entry], outfile: tmp })
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
