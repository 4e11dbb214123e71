/**
 * Worker environments: the shell lines a job runs before its task, and the files it needs.
 *
 *  shared-fs   (default) the workers see the same paths as the submit host: optional `setup`
 *              lines, an `activate` script or an environment `prefix`, and a `python`.
 *  packed-pixi an archive made by pixi-pack (fields as fasthep-flow uses them: `archive_path`,
 *              `environment`, `worker_env_dir` default `worker-env`). In the job: the archive is
 *              transferred (HTCondor) or copied to scratch, unpacked with `pixi-unpack
 *              --output-directory D --env-name N <archive.tar>` (or, for a self-extracting
 *              `pixi-pack --create-executable` script, `./env.sh --output-directory D --env-name N`),
 *              then `activate.sh` (written by the unpacker in D) is sourced.
 *  conda-pack  an archive made by conda-pack: extracted into a directory, `bin/activate` sourced,
 *              then `conda-unpack` fixes the prefixes (the conda-pack documented sequence).
 *
 * A missing archive is an error before dispatch (preflightEnvironment), with its path.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import type { PlanEnvironment } from '../../workflow/types.ts'
import { shellQuote } from '../transport/quote.ts'
import type { EnvironmentContext, EnvironmentProblem, EnvironmentSetup } from './types.ts'

export type { EnvironmentContext, EnvironmentDelivery, EnvironmentProblem, EnvironmentSetup } from './types.ts'

const NAME_RE = /^[A-Za-z0-9._-]+$/
const PIXI_EXT = /\.(sh|tar)$/
const CONDA_EXT = /\.(tar\.gz|tgz|tar\.bz2|tbz2|tar\.xz|txz|tar\.zst|tar|zip)$/

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null
}

function list(v: unknown): string[] {
  if (typeof v === 'string') return v.trim() ? [v] : []
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' && x.trim() !== '').map((x) => String(x))
  return []
}

function defaultScratch(ctx: EnvironmentContext): string {
  if (ctx.scratchDir) return ctx.scratchDir
  return ctx.delivery === 'transfer'
    ? '${_CONDOR_SCRATCH_DIR:-$PWD}'
    : '${CONTROLROOM_SCRATCH:-${TMPDIR:-/tmp}}/controlroom-env.$$'
}

/** resolve an archive path on the submit side */
function resolveArchive(p: string, ctx: EnvironmentContext): string {
  return path.isAbsolute(p) ? path.normalize(p) : path.resolve(ctx.baseDir ?? process.cwd(), p)
}

/** `worker_env_dir` -> the unpack output directory (shell expression) and the environment name */
function envDir(raw: string, scratch: string, problems: EnvironmentProblem[]): { out: string; name: string } {
  const clean = raw.replace(/\/+$/, '')
  const name = path.posix.basename(clean)
  const parent = path.posix.dirname(clean)
  if (!NAME_RE.test(name) || clean.split('/').some((s) => s === '..')) {
    problems.push({
      code: 'environment-invalid',
      severity: 'error',
      message: `worker_env_dir ${JSON.stringify(raw)} must be a directory name (letters, digits, . _ -) or an absolute path without ..`,
      path: 'execution.environment.worker_env_dir',
    })
  }
  let out: string
  if (path.posix.isAbsolute(clean)) out = shellQuote(parent)
  else out = parent === '.' ? `"${scratch}"` : `"${scratch}/"${shellQuote(parent)}`
  return { out, name }
}

/** run sourced activation scripts without `set -u` (they read unset variables), then restore it */
function sourceLines(file: string): string[] {
  return [
    'case $- in *u*) cr_nounset=1 ;; *) cr_nounset=0 ;; esac; set +u',
    `. ${file}`,
    'if [ "$cr_nounset" = 1 ]; then set -u; fi',
  ]
}

/** lines that make the archive available as "$cr_env_archive" and create the output directory */
function archiveLines(archive: string, out: string, ctx: EnvironmentContext): string[] {
  const base = path.posix.basename(archive)
  const L = [`cr_env_out=${out}`, 'mkdir -p "$cr_env_out"']
  if (ctx.delivery === 'transfer') {
    const scratch = defaultScratch(ctx)
    L.push(`cr_env_archive="${scratch}/"${shellQuote(base)}`)
    L.push(
      `if [ ! -f "$cr_env_archive" ]; then echo "controlroom: the worker environment archive ${base} was not transferred into the job's directory" >&2; exit 66; fi`,
    )
  } else {
    L.push(
      `if [ ! -f ${shellQuote(archive)} ]; then echo "controlroom: the worker environment archive ${archive} is not visible on this node" >&2; exit 66; fi`,
    )
    L.push(`cr_env_archive="$cr_env_out/"${shellQuote(base)}`)
    L.push(`if [ ! -f "$cr_env_archive" ]; then cp ${shellQuote(archive)} "$cr_env_archive"; fi`)
  }
  return L
}

function sharedFs(env: Record<string, unknown>): EnvironmentSetup {
  const problems: EnvironmentProblem[] = []
  const lines: string[] = []
  const setup = list(env.setup)
  const activate = str(env.activate)
  const prefix = str(env.prefix)
  const python = str(env.python)
  if (setup.length || activate || prefix) lines.push('# worker environment: shared-fs')
  for (const s of setup) lines.push(s.replace(/[\r\n]+/g, ' '))
  if (activate) lines.push(...sourceLines(shellQuote(activate)))
  if (prefix) {
    lines.push(`if [ -f ${shellQuote(prefix + '/bin/activate')} ]; then`)
    lines.push(...sourceLines(shellQuote(prefix + '/bin/activate')).map((l) => '  ' + l))
    lines.push(`else export PATH=${shellQuote(prefix + '/bin')}":$PATH"; export CONDA_PREFIX=${shellQuote(prefix)}; fi`)
  }
  const py = python ? shellQuote(python) : prefix ? shellQuote(prefix + '/bin/python') : null
  if (py) lines.push(`export CONTROLROOM_PYTHON=${py}`)
  return {
    type: 'shared-fs',
    lines,
    transferInputFiles: [],
    requiredFiles: [],
    python: py,
    summary: activate
      ? `shared-fs: activate ${activate}`
      : prefix
        ? `shared-fs: environment ${prefix}`
        : 'shared-fs: the workers use the paths the submit host sees',
    problems,
  }
}

function packedPixi(env: Record<string, unknown>, ctx: EnvironmentContext): EnvironmentSetup {
  const problems: EnvironmentProblem[] = []
  const rawArchive = str(env.archive_path)
  const pixiEnv = str(env.environment) ?? 'default'
  const workerEnvDir = str(env.worker_env_dir) ?? 'worker-env'
  if (!rawArchive) {
    problems.push({
      code: 'environment-invalid',
      severity: 'error',
      message:
        'packed-pixi needs archive_path: the archive made by pixi-pack (environment.tar, or env.sh from --create-executable)',
      path: 'execution.environment.archive_path',
    })
    return {
      type: 'packed-pixi',
      lines: [],
      transferInputFiles: [],
      requiredFiles: [],
      python: null,
      summary: 'packed-pixi: no archive',
      problems,
    }
  }
  const archive = resolveArchive(rawArchive, ctx)
  if (!PIXI_EXT.test(archive)) {
    problems.push({
      code: 'environment-archive-type',
      severity: 'warning',
      message: `${path.basename(archive)} is neither a pixi-pack .tar nor a self-extracting .sh; it is handed to pixi-unpack`,
      path: 'execution.environment.archive_path',
    })
  }
  const scratch = defaultScratch(ctx)
  const { out, name } = envDir(workerEnvDir, scratch, problems)
  const selfExtracting = archive.endsWith('.sh')
  const L: string[] = [
    `# worker environment: packed-pixi (pixi environment ${JSON.stringify(pixiEnv)}) from ${path.basename(archive)}`,
  ]
  L.push(...archiveLines(archive, out, ctx))
  L.push('if [ ! -f "$cr_env_out/activate.sh" ] || [ ! -d "$cr_env_out/"' + shellQuote(name) + ' ]; then')
  if (selfExtracting) {
    L.push('  chmod +x "$cr_env_archive"')
    L.push(`  "$cr_env_archive" --output-directory "$cr_env_out" --env-name ${shellQuote(name)}`)
  } else {
    L.push(
      '  if ! command -v pixi-unpack >/dev/null 2>&1; then echo "controlroom: pixi-unpack is not installed on this worker; install it or pack with pixi-pack --create-executable (a self-extracting env.sh)" >&2; exit 127; fi',
    )
    L.push(`  pixi-unpack --output-directory "$cr_env_out" --env-name ${shellQuote(name)} "$cr_env_archive"`)
  }
  L.push('fi')
  L.push(...sourceLines('"$cr_env_out/activate.sh"'))
  const py = `"$cr_env_out/"${shellQuote(name)}/bin/python`
  L.push(`export CONTROLROOM_PYTHON=${py}`)
  return {
    type: 'packed-pixi',
    lines: L,
    transferInputFiles: ctx.delivery === 'transfer' ? [archive] : [],
    requiredFiles: [archive],
    python: py,
    summary: `packed-pixi: ${path.basename(archive)} (pixi environment ${pixiEnv}) unpacked with ${selfExtracting ? 'its own extractor' : 'pixi-unpack'} into ${workerEnvDir}`,
    problems,
  }
}

function condaPack(env: Record<string, unknown>, ctx: EnvironmentContext): EnvironmentSetup {
  const problems: EnvironmentProblem[] = []
  const rawArchive = str(env.archive_path)
  const workerEnvDir = str(env.worker_env_dir) ?? 'worker-env'
  if (!rawArchive) {
    problems.push({
      code: 'environment-invalid',
      severity: 'error',
      message: 'conda-pack needs archive_path: the archive made by conda-pack (e.g. env.tar.gz)',
      path: 'execution.environment.archive_path',
    })
    return {
      type: 'conda-pack',
      lines: [],
      transferInputFiles: [],
      requiredFiles: [],
      python: null,
      summary: 'conda-pack: no archive',
      problems,
    }
  }
  const archive = resolveArchive(rawArchive, ctx)
  if (!CONDA_EXT.test(archive)) {
    problems.push({
      code: 'environment-archive-type',
      severity: 'warning',
      message: `${path.basename(archive)} does not look like a conda-pack archive (.tar.gz, .tar.bz2, .tar.zst, .tar, .zip); it is extracted with tar`,
      path: 'execution.environment.archive_path',
    })
  }
  const scratch = defaultScratch(ctx)
  const { out, name } = envDir(workerEnvDir, scratch, problems)
  const L: string[] = [`# worker environment: conda-pack from ${path.basename(archive)}`]
  L.push(...archiveLines(archive, out, ctx))
  L.push(`cr_env_prefix="$cr_env_out/"${shellQuote(name)}`)
  L.push('if [ ! -f "$cr_env_prefix/bin/activate" ]; then')
  L.push('  mkdir -p "$cr_env_prefix"')
  if (archive.endsWith('.zip')) L.push('  unzip -q "$cr_env_archive" -d "$cr_env_prefix"')
  else L.push('  tar -xf "$cr_env_archive" -C "$cr_env_prefix"')
  L.push('  cr_env_fresh=1')
  L.push('else cr_env_fresh=0; fi')
  L.push(...sourceLines('"$cr_env_prefix/bin/activate"'))
  L.push('if [ "$cr_env_fresh" = 1 ]; then conda-unpack; fi')
  L.push('export CONTROLROOM_PYTHON="$cr_env_prefix/bin/python"')
  return {
    type: 'conda-pack',
    lines: L,
    transferInputFiles: ctx.delivery === 'transfer' ? [archive] : [],
    requiredFiles: [archive],
    python: '"$cr_env_prefix/bin/python"',
    summary: `conda-pack: ${path.basename(archive)} extracted into ${workerEnvDir}, activated, conda-unpack`,
    problems,
  }
}

/** the shell lines (and files) that prepare the worker environment of a job */
export function renderEnvironmentSetup(
  env: PlanEnvironment | Record<string, unknown> | null | undefined,
  ctx: EnvironmentContext,
): EnvironmentSetup {
  const e = (env ?? { type: 'shared-fs' }) as Record<string, unknown>
  const type = e.type ?? 'shared-fs'
  if (type === 'shared-fs') return sharedFs(e)
  if (type === 'packed-pixi') return packedPixi(e, ctx)
  if (type === 'conda-pack') return condaPack(e, ctx)
  return {
    type: 'shared-fs',
    lines: [],
    transferInputFiles: [],
    requiredFiles: [],
    python: null,
    summary: `unknown environment type ${String(type)}`,
    problems: [
      {
        code: 'environment-invalid',
        severity: 'error',
        message: `unknown environment type ${JSON.stringify(type)} (shared-fs, packed-pixi or conda-pack)`,
        path: 'execution.environment.type',
      },
    ],
  }
}

export interface PreflightEnvironmentOptions extends EnvironmentContext {
  /** existence check (default: this host's file system; give one going through a transport for remote paths) */
  exists?: (p: string) => Promise<boolean>
}

async function localExists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile()
  } catch {
    return false
  }
}

/** problems before dispatch: invalid fields, and an archive that does not exist (with its path) */
export async function preflightEnvironment(
  env: PlanEnvironment | Record<string, unknown> | null | undefined,
  opts: PreflightEnvironmentOptions,
): Promise<EnvironmentProblem[]> {
  const r = renderEnvironmentSetup(env, opts)
  const problems = [...r.problems]
  const exists = opts.exists ?? localExists
  for (const f of r.requiredFiles) {
    if (await exists(f)) continue
    const raw = str((env as Record<string, unknown> | null | undefined)?.archive_path) ?? f
    problems.push({
      code: 'environment-archive-missing',
      severity: 'error',
      message: `the worker environment archive ${f} does not exist (execution.environment.archive_path: ${raw})`,
      hint:
        r.type === 'packed-pixi'
          ? 'create it with `pixi-pack --environment <env> --platform linux-64` (or `--create-executable` for a self-extracting env.sh), or fix archive_path'
          : 'create it with `conda pack -n <env> -o env.tar.gz`, or fix archive_path',
      path: 'execution.environment.archive_path',
    })
  }
  return problems
}

/** HTCondor transfers files by basename: two inputs with the same name would overwrite each other */
export function duplicateTransferNames(files: string[]): string[] {
  const seen = new Map<string, number>()
  for (const f of files) seen.set(path.posix.basename(f), (seen.get(path.posix.basename(f)) ?? 0) + 1)
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k)
}
