import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { LineCounter, parseDocument, isMap, isScalar, type Node as YamlNode } from 'yaml'
import { siteSchema, type SiteConfig, type SiteConfigInput } from './schema.ts'
import { editDistance } from '../workflow/suggest.ts'

export interface SiteProblem {
  /** dotted key path, e.g. `slurm.partition` ('' for the whole file) */
  path: string
  message: string
  line: number | null
  col: number | null
}

export class SiteConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: SiteProblem[],
  ) {
    super(
      `invalid site configuration ${file}:\n` +
        problems
          .map((p) => `  ${file}${p.line ? `:${p.line}:${p.col}` : ''}: ${p.path ? `${p.path}: ` : ''}${p.message}`)
          .join('\n'),
    )
    this.name = 'SiteConfigError'
  }
}

export interface LoadSiteOptions {
  env?: Record<string, string | undefined>
  cwd?: string
}

/** the Control Room home directory: $CONTROLROOM_HOME or ./var */
export function controlroomHome(opts: LoadSiteOptions = {}): string {
  const env = opts.env ?? process.env
  return path.resolve(/*turbopackIgnore: true*/ opts.cwd ?? process.cwd(), env.CONTROLROOM_HOME || 'var')
}

/** which file would be read: $CONTROLROOM_SITE, else the first of site.yaml|site.yml|site.json in the home */
export function siteConfigPath(opts: LoadSiteOptions = {}): { file: string; explicit: boolean } {
  const env = opts.env ?? process.env
  if (env.CONTROLROOM_SITE)
    return {
      file: path.resolve(/*turbopackIgnore: true*/ opts.cwd ?? process.cwd(), env.CONTROLROOM_SITE),
      explicit: true,
    }
  const home = controlroomHome(opts)
  for (const name of ['site.yaml', 'site.yml', 'site.json']) {
    const f = path.join(/*turbopackIgnore: true*/ home, name)
    if (existsSync(f)) return { file: f, explicit: false }
  }
  return { file: path.join(/*turbopackIgnore: true*/ home, 'site.yaml'), explicit: false }
}

/**
 * Load the site configuration. A missing default file gives all defaults; a missing file named by
 * $CONTROLROOM_SITE, unreadable YAML/JSON or an invalid value throws a SiteConfigError whose message
 * lists every problem with file:line:col.
 */
export function loadSiteConfig(opts: LoadSiteOptions = {}): SiteConfig {
  const home = controlroomHome(opts)
  const { file, explicit } = siteConfigPath(opts)
  if (!existsSync(file)) {
    if (explicit)
      throw new SiteConfigError(file, [
        { path: '', message: 'file not found (named by CONTROLROOM_SITE)', line: null, col: null },
      ])
    return resolveSiteConfig({}, { home, source: null })
  }
  return parseSiteConfig(readFileSync(file, 'utf8'), { file, home })
}

/** parse and validate site config text (YAML or JSON) */
export function parseSiteConfig(text: string, opts: { file?: string; home: string }): SiteConfig {
  const file = opts.file ?? 'site.yaml'
  const lc = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false })
  if (doc.errors.length) {
    throw new SiteConfigError(
      file,
      doc.errors.map((e) => {
        const p = lc.linePos(e.pos[0])
        return { path: '', message: e.message.split('\n')[0]!, line: p.line, col: p.col }
      }),
    )
  }
  const raw = doc.toJS() ?? {}
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SiteConfigError(file, [
      { path: '', message: 'the site configuration must be a mapping', line: 1, col: 1 },
    ])
  }
  const parsed = siteSchema.safeParse(raw)
  if (!parsed.success) {
    const problems: SiteProblem[] = []
    for (const issue of parsed.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [null]
      for (const key of keys) {
        const p = [...issue.path.map(String), ...(key ? [key] : [])]
        const pos = positionOf(doc.contents as YamlNode | null, p, lc, key !== null)
        const message =
          key !== null ? `unknown key "${key}"${suggest(key, knownKeysAt(issue.path.map(String)))}` : issue.message
        problems.push({ path: p.join('.'), message, ...pos })
      }
    }
    throw new SiteConfigError(file, problems)
  }
  return resolveSiteConfig(parsed.data, {
    home: opts.home,
    source: opts.file ?? null,
    baseDir: opts.file ? path.dirname(opts.file) : opts.home,
  })
}

function expandPath(p: string, base: string): string {
  if (p === '~') return os.homedir()
  if (p.startsWith('~/')) return path.join(os.homedir(), p.slice(2))
  return path.resolve(base, p)
}

export function resolveSiteConfig(
  input: SiteConfigInput | ReturnType<typeof siteSchema.parse>,
  opts: { home: string; source: string | null; baseDir?: string },
): SiteConfig {
  const c = siteSchema.parse(input)
  const base = opts.baseDir ?? opts.home
  const pollIntervalMs = c.slurm?.pollIntervalMs ?? 2000
  return {
    source: opts.source,
    home: opts.home,
    paths: {
      runs: expandPath(c.paths?.runs ?? path.join(opts.home, 'runs'), base),
      scratch: c.paths?.scratch ? c.paths.scratch : null,
    },
    python: c.python ?? 'python3',
    taskCommand: c.taskCommand ?? null,
    environment: { setup: c.environment?.setup ?? [], env: c.environment?.env ?? {} },
    ssh: c.ssh
      ? {
          ...c.ssh,
          ...(c.ssh.identityFile ? { identityFile: expandPath(c.ssh.identityFile, base) } : {}),
          ...(c.ssh.knownHostsFile ? { knownHostsFile: expandPath(c.ssh.knownHostsFile, base) } : {}),
        }
      : null,
    slurm: {
      partition: c.slurm?.partition ?? null,
      account: c.slurm?.account ?? null,
      qos: c.slurm?.qos ?? null,
      walltime: c.slurm?.walltime ?? null,
      binDir: c.slurm?.binDir ?? null,
      env: c.slurm?.env ?? {},
      dependencies: c.slurm?.dependencies ?? 'engine',
      squeue: c.slurm?.squeue ?? 'auto',
      arrays: c.slurm?.arrays ?? true,
      pollIntervalMs,
      maxPollIntervalMs: Math.max(pollIntervalMs, c.slurm?.maxPollIntervalMs ?? 30_000),
      preflight: c.slurm?.preflight ?? true,
      jobNamePrefix: c.slurm?.jobNamePrefix ?? 'cr',
      extra: c.slurm?.extra ?? [],
      tasksPerJob: c.slurm?.tasksPerJob ?? null,
      pools: c.slurm?.pools ?? {},
    },
    htcondor: c.htcondor ?? {},
    dask: c.dask ?? {},
  }
}

/** the default site configuration for a home directory (no file) */
export function defaultSiteConfig(home: string): SiteConfig {
  return resolveSiteConfig({}, { home, source: null })
}

function positionOf(
  root: YamlNode | null,
  keys: string[],
  lc: LineCounter,
  wantKey: boolean,
): { line: number | null; col: number | null } {
  let node: unknown = root
  let range: [number, number, number] | null | undefined = (root as { range?: [number, number, number] } | null)?.range
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    if (isMap(node)) {
      const pair = node.items.find((it) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === k)
      if (!pair) break
      const last = i === keys.length - 1
      if (last && wantKey && isScalar(pair.key)) {
        range = pair.key.range
        break
      }
      node = pair.value
      range =
        (pair.value as { range?: [number, number, number] } | null)?.range ??
        (pair.key as { range?: [number, number, number] })?.range
    } else if (
      node &&
      typeof node === 'object' &&
      'items' in node &&
      Array.isArray((node as { items: unknown[] }).items)
    ) {
      const item = (node as { items: unknown[] }).items[Number(k)]
      if (!item) break
      node = item
      range = (item as { range?: [number, number, number] }).range
    } else break
  }
  if (!range) return { line: null, col: null }
  const p = lc.linePos(range[0])
  return { line: p.line, col: p.col }
}

function knownKeysAt(p: string[]): string[] {
  // walk the zod schema shape along the path
  let s: unknown = siteSchema
  for (const k of p) {
    s = unwrap(s)
    const shape = (s as { shape?: Record<string, unknown> }).shape
    if (!shape || !(k in shape)) return []
    s = shape[k]
  }
  s = unwrap(s)
  return Object.keys((s as { shape?: Record<string, unknown> }).shape ?? {})
}

function unwrap(s: unknown): unknown {
  let cur = s as { def?: { type?: string; innerType?: unknown } }
  while (cur?.def && (cur.def.type === 'optional' || cur.def.type === 'nullable' || cur.def.type === 'default')) {
    cur = cur.def.innerType as typeof cur
  }
  return cur
}

function suggest(word: string, known: string[]): string {
  let best: string | null = null
  let bestD = Infinity
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase())
    if (d < bestD) {
      bestD = d
      best = k
    }
  }
  if (best && bestD <= Math.max(2, Math.floor(best.length / 3))) return `; did you mean "${best}"?`
  return known.length ? `; known keys: ${known.join(', ')}` : ''
}
