/** Human-readable rendering of problems and plans for the CLI. */
import { formatBytes, formatDurationSpec } from '../format.ts'
import type { ExecutionPlan, Problem } from '../workflow/index.ts'

/**
 * Text safe for a terminal: control characters (C0 but newline and tab, DEL, C1) shown as \xNN.
 * Stage ids, messages and logs come from users: raw escape bytes could rewrite the screen.
 */
export function visible(text: string): string {
  return text.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )
}

/** `visible` for a whole output chunk, keeping the CLI's own colour codes (and only those) when on. */
export function terminalSafe(chunk: string, colour: boolean): string {
  if (!colour) return visible(chunk)
  return chunk.replace(/\x1b\[(?:0|2|31|33)m|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (m) =>
    m.length > 1 ? m : visible(m),
  )
}

const C = {
  red: (s: string) => `\x1b[31m${s}\x1b[0m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[0m`,
  dim: (s: string) => `\x1b[2m${s}\x1b[0m`,
}

/**
 * `FILE:LINE:COL: error CODE: message`, then the source line with a caret, then `  hint: ...`.
 */
export function renderProblem(p: Problem, file: string, source: string, color = false): string {
  const { line, col } = p.range.start
  const sev = color ? (p.severity === 'error' ? C.red(p.severity) : C.yellow(p.severity)) : p.severity
  const out = [`${file}:${line}:${col}: ${sev} ${p.code}: ${p.message}`]
  const lines = source.split('\n')
  const text = lines[line - 1]
  if (text !== undefined && text.trim() !== '') {
    const gutter = String(line)
    const sameLine = p.range.end.line === line
    const width = Math.max(1, sameLine ? p.range.end.col - col : text.length - col + 1)
    const shown = text.replace(/\t/g, ' ').replace(/\r$/, '')
    out.push(`  ${gutter} | ${shown}`)
    out.push(
      `  ${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, col - 1))}${'^'.repeat(Math.min(width, Math.max(1, shown.length - col + 1)))}`,
    )
  }
  if (p.hint) out.push(`  hint: ${p.hint}`)
  return out.join('\n')
}

/** a size in a table cell: an unset size is '-', like the table's other empty cells */
const tableSize = (bytes: number | null) => (bytes === null ? '-' : formatBytes(bytes))

function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map(
    (r) =>
      '  ' +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
  )
}

export function renderPlan(plan: ExecutionPlan, file: string): string {
  const out: string[] = []
  out.push(`Plan for ${file}${plan.name ? ` (${plan.name})` : ''}`)
  out.push(`  backend: ${plan.backend}   strategy: ${plan.strategy}   environment: ${plan.environment.type}`)
  out.push(`  hash: ${plan.hash}`)
  if (plan.credentials.length) {
    out.push(
      `  credentials: ${plan.credentials
        .map(
          (c) =>
            `${c.kind} (${c.source === 'env' ? `$${c.env}` : c.source === 'path' ? c.path : 'discover'}${c.required ? '' : ', optional'})`,
        )
        .join(', ')}`,
    )
  }
  out.push('', `Pools (${plan.pools.length}):`)
  const rows = [['NAME', 'WORKERS', 'CPUS', 'MEMORY', 'GPUS', 'DISK', 'CLASS', 'STAGES', 'CONFIG']]
  for (const p of plan.pools) {
    const cfg = Object.entries(p.config)
      .filter(([k]) => k !== 'walltimeSeconds' && k !== 'maxruntimeSeconds')
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ')
    rows.push([
      p.name + (p.implicit ? ' (implicit)' : ''),
      String(p.workers),
      String(p.resources.cpus),
      tableSize(p.resources.memoryBytes),
      String(p.resources.gpus),
      tableSize(p.resources.diskBytes),
      p.resourceClass ?? '-',
      String(p.stages.length),
      cfg || '-',
    ])
  }
  out.push(...table(rows))
  out.push('', `Stages (${plan.stages.length}, in execution order):`)
  const idw = Math.min(32, Math.max(...plan.stages.map((s) => s.id.length), 2))
  const poolw = Math.min(20, Math.max(...plan.stages.map((s) => s.pool.length), 4))
  plan.stages.forEach((s, i) => {
    out.push(
      `  ${String(i + 1).padStart(String(plan.stages.length).length)}. ${s.id.padEnd(idw)} → ${s.pool.padEnd(poolw)}  ${s.routing.reason}`,
    )
    const extra: string[] = [`op ${s.op}`]
    if (s.needs.length) extra.push(`needs ${s.needs.join(', ')}`)
    if (s.modifiers.length) extra.push(`modifiers ${s.modifiers.map((m) => m.name).join(', ')}`)
    if (s.timeoutSeconds !== null) extra.push(`timeout ${formatDurationSpec(s.timeoutSeconds)}`)
    if (s.retries !== null) extra.push(`retries ${s.retries}`)
    out.push(`     ${' '.repeat(String(plan.stages.length).length)}${extra.join('; ')}`)
  })
  if (plan.warnings.length) out.push('', `Warnings (${plan.warnings.length}):`)
  return out.join('\n')
}
