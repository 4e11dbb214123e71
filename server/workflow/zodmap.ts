/**
 * Map zod issues to located problems (unknown keys with did-you-mean, wrong types, bad enum values).
 */
import type { ProblemCode } from './problem-codes.ts'
import type { z } from 'zod'
import type { Path, SourceContext } from './source.ts'
import { didYouMean } from './suggest.ts'

type AnySchema = z.ZodType
type Issue = z.core.$ZodIssue

function def(s: AnySchema): Record<string, unknown> {
  return ((s as unknown as { _zod: { def: Record<string, unknown> } })._zod?.def ?? {}) as Record<string, unknown>
}

function unwrap(s: AnySchema): AnySchema {
  let cur = s
  for (let i = 0; i < 20; i++) {
    const d = def(cur)
    const t = d.type as string
    if (
      t === 'optional' ||
      t === 'nullable' ||
      t === 'default' ||
      t === 'readonly' ||
      t === 'nonoptional' ||
      t === 'catch'
    ) {
      cur = d.innerType as AnySchema
    } else if (t === 'pipe') {
      cur = d.in as AnySchema
    } else break
  }
  return cur
}

/** All alternatives of a (possibly nested) union, unwrapped. */
function alternatives(s: AnySchema): AnySchema[] {
  const u = unwrap(s)
  const d = def(u)
  if (d.type === 'union') return (d.options as AnySchema[]).flatMap(alternatives)
  return [u]
}

function childSchemas(s: AnySchema, seg: string | number): AnySchema[] {
  const out: AnySchema[] = []
  for (const alt of alternatives(s)) {
    const d = def(alt)
    if (d.type === 'object') {
      const shape = d.shape as Record<string, AnySchema>
      if (typeof seg === 'string' && Object.hasOwn(shape, seg)) out.push(shape[seg]!)
    } else if (d.type === 'record') {
      out.push(d.valueType as AnySchema)
    } else if (d.type === 'array' && typeof seg === 'number') {
      out.push(d.element as AnySchema)
    }
  }
  return out
}

/** Keys known by the object schema(s) at `path` inside `schema`. */
export function knownKeysAt(schema: AnySchema, path: Path): string[] {
  let level: AnySchema[] = [schema]
  for (const seg of path) {
    level = level.flatMap((s) => childSchemas(s, seg))
    if (level.length === 0) return []
  }
  const keys = new Set<string>()
  for (const s of level) {
    for (const alt of alternatives(s)) {
      const d = def(alt)
      if (d.type === 'object') for (const k of Object.keys(d.shape as object)) keys.add(k)
    }
  }
  return [...keys]
}

function valueAt(root: unknown, path: Path): unknown {
  let cur = root
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string | number, unknown>)[seg as string]
  }
  return cur
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null (empty value)'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'string') {
    const s = v.length > 40 ? v.slice(0, 37) + '...' : v
    return `string "${s}"`
  }
  if (typeof v === 'number') return Number.isInteger(v) ? `number ${v}` : `number ${v}`
  if (typeof v === 'boolean') return `boolean ${v}`
  return typeof v
}

const EXPECTED_TEXT: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  null: 'empty',
}

function label(path: Path): string {
  for (let i = path.length - 1; i >= 0; i--) {
    if (typeof path[i] === 'string') {
      const rest = path.slice(i + 1)
      return `'${path[i]}${rest.map((r) => `[${r}]`).join('')}'`
    }
  }
  return 'this value'
}

/**
 * The value's shape is not this branch's at all: a type or literal mismatch at the branch's root,
 * or a nested union (`name | {name, params}`) none of whose own branches fits.
 */
function shapeMismatch(e: Issue): boolean {
  if (e.path.length > 0) return false
  if (e.code === 'invalid_type' || e.code === 'invalid_value') return true
  if (e.code !== 'invalid_union') return false
  const errs = (e as unknown as { errors?: Issue[][] }).errors ?? []
  return errs.length > 0 && errs.every((branch) => branch.some(shapeMismatch))
}

/** Choose the union branch that matched the input's shape, if exactly one (or the one with fewest issues). */
function flatten(issue: Issue): Issue[] {
  if (issue.code === 'invalid_union') {
    const errs = (issue as unknown as { errors?: Issue[][] }).errors ?? []
    const fitting = errs.filter((branch) => branch.length > 0 && !branch.some(shapeMismatch))
    if (fitting.length > 0) {
      const best = fitting.reduce((a, b) => (b.length < a.length ? b : a))
      return best.flatMap((e) => flatten({ ...e, path: [...issue.path, ...e.path] } as Issue))
    }
  }
  return [issue]
}

export interface MapOptions {
  /** codes for particular leaf keys, e.g. workers too_small -> invalid-workers */
  codeFor?: (issue: Issue, path: Path) => ProblemCode | undefined
  /** special handling for unknown keys (e.g. secrets under credentials) */
  unknownKey?: (key: string, path: Path) => { code: ProblemCode; message: string; hint?: string } | undefined
  /** hint for a missing required key */
  missingHint?: (path: Path) => string | undefined
  /** message for a missing required key */
  missingMessage?: (path: Path) => string | undefined
  /** how to name the container of an unknown key, e.g. "stage 'B'" */
  where?: (path: Path) => string | undefined
  /** code for a missing required key */
  missingCode?: (path: Path) => ProblemCode | undefined
}

/**
 * Validate `value` (found at `base` in the document) against `schema` and report every issue.
 * Returns true when valid.
 */
export function validateWith(
  ctx: SourceContext,
  schema: AnySchema,
  value: unknown,
  base: Path,
  opts: MapOptions = {},
): boolean {
  const r = schema.safeParse(value)
  if (r.success) return true
  for (const top of r.error.issues) {
    for (const issue of flatten(top)) reportIssue(ctx, schema, value, base, issue, opts)
  }
  return false
}

function reportIssue(
  ctx: SourceContext,
  schema: AnySchema,
  value: unknown,
  base: Path,
  issue: Issue,
  opts: MapOptions,
) {
  const rel = issue.path as Path
  const path = [...base, ...rel]
  const actual = valueAt(value, rel)
  const special = opts.codeFor?.(issue, path)
  const typeIssue = issue.code === 'invalid_type' || issue.code === 'invalid_union' || issue.code === 'invalid_value'
  const specificMissing = opts.missingCode?.(path)
  if (typeIssue && (actual === undefined || (actual === null && specificMissing))) {
    const code = specificMissing ?? 'missing-field'
    ctx.error(code, opts.missingMessage?.(path) ?? `${label(path)} is required`, path, {
      hint: opts.missingHint?.(path),
    })
    return
  }
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(schema, rel)
      for (const key of issue.keys) {
        const kp = [...path, key]
        const sp = opts.unknownKey?.(key, kp)
        if (sp) {
          ctx.error(sp.code, sp.message, kp, { at: 'key', hint: sp.hint })
          continue
        }
        const custom = opts.where?.(path)
        const where = custom
          ? `in ${custom}`
          : rel.length === 0 && base.length === 0
            ? 'at the top level'
            : `in ${label(path)}`
        const dym = didYouMean(key, known)
        const knownList = known.length ? `known keys: ${known.join(', ')}` : undefined
        ctx.error('unknown-key', `unknown key '${key}' ${where}`, kp, {
          at: 'key',
          hint: dym ? `${dym} (${knownList})` : knownList,
        })
      }
      return
    }
    case 'invalid_type': {
      if (actual === undefined) {
        const code = opts.missingCode?.(path) ?? special ?? 'missing-field'
        ctx.error(code, opts.missingMessage?.(path) ?? `${label(path)} is required`, path, {
          hint: opts.missingHint?.(path),
        })
        return
      }
      const expected = EXPECTED_TEXT[issue.expected] ?? issue.expected
      let hint: string | undefined
      if (issue.expected === 'string' && (typeof actual === 'number' || typeof actual === 'boolean')) {
        hint = `quote it: "${String(actual)}"`
      } else if (issue.expected === 'int' && typeof actual === 'number') {
        hint = `use a whole number, e.g. ${Math.max(1, Math.round(actual))}`
      } else if (issue.expected === 'array' && typeof actual === 'string') {
        hint = `write a list: [${actual}]`
      }
      ctx.error(special ?? 'invalid-type', `${label(path)} must be ${expected}, got ${describeValue(actual)}`, path, {
        hint,
      })
      return
    }
    case 'invalid_value': {
      const values = (issue.values as unknown[]).map(String)
      const dym = typeof actual === 'string' ? didYouMean(actual, values) : undefined
      ctx.error(
        special ?? 'invalid-value',
        `${label(path)} must be one of ${values.join(', ')}; got ${describeValue(actual)}`,
        path,
        { hint: dym },
      )
      return
    }
    case 'invalid_union': {
      const disc = (issue as unknown as { discriminator?: string; options?: unknown[] }).discriminator
      if (disc) {
        const options = ((issue as unknown as { options?: unknown[] }).options ?? []).map(String)
        const dym = typeof actual === 'string' ? didYouMean(actual, options) : undefined
        ctx.error(
          special ?? 'invalid-value',
          `${label(path)} must be one of ${options.join(', ')}; got ${describeValue(actual)}`,
          path,
          { hint: dym },
        )
        return
      }
      const custom = issue.message && issue.message !== 'Invalid input' ? issue.message : null
      // `z.enum([...known]) | z.string()` and the like: say the type every branch expects
      const branches = (issue as unknown as { errors?: Issue[][] }).errors ?? []
      const typed = branches.flat().find((e) => e.path.length === 0 && e.code === 'invalid_type')
      if (!custom && typed && branches.every((b) => b.every(shapeMismatch)))
        return reportIssue(ctx, schema, value, base, { ...typed, path: issue.path } as Issue, opts)
      const msg = custom ?? 'has an invalid value'
      ctx.error(special ?? 'invalid-type', `${label(path)}: ${msg}, got ${describeValue(actual)}`, path)
      return
    }
    case 'too_small': {
      const min = String(issue.minimum)
      ctx.error(
        special ?? 'invalid-value',
        `${label(path)} must be ${issue.inclusive ? 'at least' : 'greater than'} ${min}, got ${describeValue(actual)}`,
        path,
      )
      return
    }
    case 'too_big': {
      ctx.error(
        special ?? 'invalid-value',
        `${label(path)} must be at most ${String(issue.maximum)}, got ${describeValue(actual)}`,
        path,
      )
      return
    }
    case 'invalid_format': {
      // a schema's own message ("expected a whole number ...") says more than the regex
      const own = issue.message && !/^Invalid/.test(issue.message) ? issue.message : null
      ctx.error(
        special ?? 'invalid-value',
        own
          ? `${label(path)}: ${own}, got ${describeValue(actual)}`
          : `${label(path)} has an invalid format (${issue.format}), got ${describeValue(actual)}`,
        path,
      )
      return
    }
    default:
      ctx.error(special ?? 'invalid-value', `${label(path)}: ${issue.message}`, path)
  }
}
