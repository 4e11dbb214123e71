/**
 * Which Python runs the bridge, the scheduler and the local workers. Configurable
 * (`execution.config.python`, site `dask.python`, site `python`); otherwise the first of a few
 * candidates that can `import distributed` (on Debian: /usr/bin/python3, while the `python3` first
 * on PATH may be another interpreter without Dask).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { readSetting } from '../../../settings.ts'
import type { RunAs } from '../../types.ts'
import { daskUserEnv } from './as-user.ts'

/**
 * bridge.py beside this module; when bundled (Next.js server chunks) the source tree's copy
 * (CONTROLROOM_APP_ROOT or the working directory), like the task runtime (../../paths.ts).
 */
export const BRIDGE_PATH = (() => {
  try {
    const here = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bridge.py')
    if (existsSync(here)) return here
  } catch {
    /* import.meta.url is not a file URL in a bundle */
  }
  return path.join(readSetting('CONTROLROOM_APP_ROOT'), 'server', 'execution', 'backends', 'dask', 'bridge.py')
})()

export interface PythonProbe {
  python: string
  ok: boolean
  distributed: string | null
  version: string | null
  error: string | null
}

const cache = new Map<string, Promise<PythonProbe>>()

/**
 * Can `python` import distributed? (cached per interpreter and user). With `runAs` (users mode) it
 * runs as that OS user: an interpreter named in a workflow is that account's program, and the
 * server (root) must never execute it as itself.
 */
export function probePython(python: string, runAs?: RunAs | null): Promise<PythonProbe> {
  const id = `${runAs?.uid ?? 'server'}:${python}`
  let p = cache.get(id)
  if (!p) {
    const as = runAs ? { uid: runAs.uid, gid: runAs.gid, env: daskUserEnv(runAs), cwd: '/' } : {}
    p = new Promise((resolve) => {
      execFile(
        python,
        ['-c', 'import sys, distributed; print(distributed.__version__); print(sys.version.split()[0])'],
        { timeout: 30_000, ...as },
        (err, stdout, stderr) => {
          if (err) {
            const last =
              String(stderr || err.message)
                .trim()
                .split('\n')
                .slice(-1)[0] ?? ''
            resolve({ python, ok: false, distributed: null, version: null, error: last })
            return
          }
          const [d, v] = stdout.trim().split('\n')
          resolve({ python, ok: true, distributed: d ?? null, version: v ?? null, error: null })
        },
      )
    })
    cache.set(id, p)
  }
  return p
}

export interface PythonChoice {
  python: string
  distributed: string
  /** where it came from: 'execution.config.python', 'site.dask.python', 'site.python', 'default' */
  source: string
}

export class PythonNotFoundError extends Error {
  constructor(readonly tried: PythonProbe[]) {
    super(
      `no Python interpreter with Dask (distributed) was found; tried ${tried
        .map((t) => `${t.python} (${t.error ?? 'failed'})`)
        .join(', ')}. Set execution.config.python or the site's dask.python.`,
    )
    this.name = 'PythonNotFoundError'
  }
}

/**
 * The interpreter for Dask. An explicitly configured one must work (its failure is the error);
 * otherwise the defaults are tried in order.
 */
export async function resolvePython(opts: {
  configured?: string | null
  site?: string | null
  siteDask?: string | null
  /** users mode: probe as the account's OS user */
  runAs?: RunAs | null
}): Promise<PythonChoice> {
  const explicit: [string, string][] = []
  if (opts.configured) explicit.push([opts.configured, 'execution.config.python'])
  if (opts.siteDask) explicit.push([opts.siteDask, 'site.dask.python'])
  const tried: PythonProbe[] = []
  for (const [py, source] of explicit) {
    const r = await probePython(py, opts.runAs)
    if (r.ok) return { python: py, distributed: r.distributed!, source }
    // an explicit choice that cannot import distributed is an error, not silently replaced
    throw new PythonNotFoundError([r])
  }
  const defaults: [string, string][] = []
  if (opts.site) defaults.push([opts.site, 'site.python'])
  defaults.push(['/usr/bin/python3', 'default'], ['python3', 'default'])
  for (const [py, source] of defaults) {
    const r = await probePython(py, opts.runAs)
    tried.push(r)
    if (r.ok) return { python: py, distributed: r.distributed!, source }
  }
  throw new PythonNotFoundError(tried)
}
