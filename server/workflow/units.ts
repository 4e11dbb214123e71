/**
 * Units: memory sizes and durations.
 *
 * MEMORY. Users of batch systems expect `4GB` to mean what Slurm (`--mem=4G`), HTCondor
 * (`request_memory = 4GB`) and Dask (`--memory-limit 4GB` in dask-jobqueue style configs) give
 * them in practice: binary units. We therefore treat `K`/`KB`/`KiB` as 1024, `M`/`MB`/`MiB` as
 * 1024^2, `G`/`GB`/`GiB` as 1024^3, `T`/`TB`/`TiB` as 1024^4 and `P`/`PB`/`PiB` as 1024^5 bytes,
 * case-insensitively. `B` (or `bytes`) is bytes. A plain number (YAML number or digits only) is
 * MEGABYTES, like Slurm's `--mem=4000` and HTCondor's `request_memory = 4000`. Decimals are
 * allowed (`1.5GB`); the result is rounded to whole bytes.
 *
 * DURATIONS. Accepted forms (all return seconds):
 *   - Slurm clock forms: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`.
 *     A bare number (YAML number or digits only) is MINUTES, as in Slurm's `--time=45`.
 *   - Suffixed forms, possibly combined: `30s`, `90m`, `90min`, `2h`, `1d`, `1h30m`, `1.5h`,
 *     `2 hours`, `1w`.
 *   Callers that want a bare number to mean seconds (e.g. a stage `timeout: 3600` in the fasthep-flow
 *   form, whose Python side treats integers as seconds) pass `{ bareUnit: 'seconds' }`.
 *
 * These functions are pure and throw a RangeError with a readable message on invalid input;
 * the compiler uses the `try*` variants, which never throw.
 */

const KIB = 1024
const MEMORY_UNITS: Record<string, number> = {
  b: 1,
  byte: 1,
  bytes: 1,
  k: KIB,
  kb: KIB,
  kib: KIB,
  m: KIB ** 2,
  mb: KIB ** 2,
  mib: KIB ** 2,
  g: KIB ** 3,
  gb: KIB ** 3,
  gib: KIB ** 3,
  t: KIB ** 4,
  tb: KIB ** 4,
  tib: KIB ** 4,
  p: KIB ** 5,
  pb: KIB ** 5,
  pib: KIB ** 5,
}

const MEMORY_RE = /^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([a-z]*)$/i

export type ParseResult = { ok: true; value: number } | { ok: false; error: string }

export function tryParseMemory(input: unknown): ParseResult {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return { ok: false, error: `invalid memory size ${String(input)}` }
    return { ok: true, value: Math.round(input * KIB ** 2) }
  }
  if (typeof input !== 'string')
    return { ok: false, error: 'memory size must be a string like "4GB" or a number of MB' }
  const s = input.trim()
  const m = MEMORY_RE.exec(s)
  if (!m) return { ok: false, error: `cannot read memory size '${input}'` }
  const n = Number(m[1])
  const unit = m[2]!.toLowerCase()
  if (unit === '') return { ok: true, value: Math.round(n * KIB ** 2) }
  const mult = MEMORY_UNITS[unit]
  if (mult === undefined) return { ok: false, error: `unknown memory unit '${m[2]}' in '${input}'` }
  return { ok: true, value: Math.round(n * mult) }
}

/** Parse a memory size to bytes (binary units, bare numbers are MB). Throws RangeError if invalid. */
export function parseMemory(input: string | number): number {
  const r = tryParseMemory(input)
  if (!r.ok) throw new RangeError(r.error)
  return r.value
}

const DURATION_UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
  w: 604800,
  week: 604800,
  weeks: 604800,
}

const CLOCK_RE = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/
const SUFFIX_PART_RE = /(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)\s*/iy

export function tryParseDuration(input: unknown, opts: { bareUnit?: 'minutes' | 'seconds' } = {}): ParseResult {
  const bare = opts.bareUnit === 'seconds' ? 1 : 60
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return { ok: false, error: `invalid duration ${String(input)}` }
    return { ok: true, value: Math.round(input * bare) }
  }
  if (typeof input !== 'string') return { ok: false, error: 'duration must be a string like "02:00:00" or "90m"' }
  const s = input.trim()
  if (s === '') return { ok: false, error: 'empty duration' }
  const c = CLOCK_RE.exec(s)
  if (c) {
    const [, days, a, b, d] = c
    const nums = [a, b, d].filter((x) => x !== undefined).map(Number)
    let secs: number
    if (days !== undefined) {
      // D-HH, D-HH:MM, D-HH:MM:SS
      const [h, mi = 0, se = 0] = nums
      if (mi >= 60 || se >= 60) return { ok: false, error: `minutes and seconds must be below 60 in '${input}'` }
      secs = Number(days) * 86400 + h! * 3600 + mi * 60 + se
    } else if (nums.length === 1) {
      secs = nums[0]! * bare // bare number
    } else if (nums.length === 2) {
      const [mi, se] = nums // MM:SS
      if (se! >= 60) return { ok: false, error: `seconds must be below 60 in '${input}'` }
      secs = mi! * 60 + se!
    } else {
      const [h, mi, se] = nums // HH:MM:SS
      if (mi! >= 60 || se! >= 60) return { ok: false, error: `minutes and seconds must be below 60 in '${input}'` }
      secs = h! * 3600 + mi! * 60 + se!
    }
    return { ok: true, value: secs }
  }
  // suffix forms: 1h30m, 90 min, 2 hours
  let total = 0
  let pos = 0
  SUFFIX_PART_RE.lastIndex = 0
  while (pos < s.length) {
    SUFFIX_PART_RE.lastIndex = pos
    const m = SUFFIX_PART_RE.exec(s)
    if (!m) return { ok: false, error: `cannot read duration '${input}'` }
    const mult = DURATION_UNITS[m[2]!.toLowerCase()]
    if (mult === undefined) return { ok: false, error: `unknown duration unit '${m[2]}' in '${input}'` }
    total += Number(m[1]) * mult
    pos = SUFFIX_PART_RE.lastIndex
  }
  return { ok: true, value: Math.round(total) }
}

/**
 * Parse a duration to seconds. Bare numbers are minutes (Slurm convention) unless
 * `opts.bareUnit` is 'seconds'. Throws RangeError if invalid.
 */
export function parseDuration(input: string | number, opts: { bareUnit?: 'minutes' | 'seconds' } = {}): number {
  const r = tryParseDuration(input, opts)
  if (!r.ok) throw new RangeError(r.error)
  return r.value
}
