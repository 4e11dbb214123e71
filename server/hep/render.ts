/**
 * Renders histogram JSON to a standalone SVG string (a small renderer of our own: frame, axes with
 * 1-2-5 ticks, labels, step histogram with optional error bars, title, statistics box) and cutflow
 * tables to HTML-safe data. Deterministic output; every text is XML-escaped. No DOM, no jsroot.
 */
import type { Hist1D } from './hist.ts'
import { histogramStats } from './hist.ts'
import type { Cutflow } from './cutflow.ts'

export interface RenderOptions {
  width?: number
  height?: number
  /** logarithmic y axis (bins <= 0 are not drawn) */
  logy?: boolean
  /** line colour (CSS colour; default a dark blue) */
  color?: string
  /** fill colour under the steps ('none' for no fill) */
  fill?: string
  /** error bars sqrt(sumw2) (default: when there are at most 100 bins) */
  errors?: boolean
  /** statistics box (default true) */
  stats?: boolean
  /** overrides the histogram's title / labels */
  title?: string
  xlabel?: string
  ylabel?: string
  /** font family (default a system sans-serif stack) */
  font?: string
}

export function escapeXml(s: string): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )
}

const SAFE_COLOR = /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,30}|rgba?\([0-9.,\s%]+\))$/
const color = (c: string | undefined, dflt: string) => (c && SAFE_COLOR.test(c) ? c : dflt)

/** Round numbers for coordinates (keeps the SVG small and stable). */
const r2 = (x: number) => (Math.round(x * 100) / 100).toString()

/** "Nice" tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, target = 6): { ticks: number[]; step: number } {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return { ticks: [lo], step: 1 }
  const raw = (hi - lo) / Math.max(1, target)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const norm = raw / mag
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag
  const ticks: number[] = []
  const first = Math.ceil(lo / step - 1e-9)
  for (let k = first; k * step <= hi + step * 1e-9; k++) {
    ticks.push(Math.abs(k * step) < step * 1e-9 ? 0 : k * step)
    if (ticks.length > 1000) break
  }
  return { ticks, step }
}

/** Tick label: as many decimals as the step needs; exponent form for very large / small values. */
export function formatTick(v: number, step: number): string {
  const a = Math.abs(v)
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) {
    const s = v.toExponential(Math.max(0, Math.min(6, Math.ceil(-Math.log10(step / a)) - 1)))
    return s.replace(/\.?0+e/, 'e').replace('e+', 'e')
  }
  const dec = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)))
  return v.toFixed(dec)
}

function formatStat(v: number): string {
  if (Number.isNaN(v)) return '—'
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞'
  const a = Math.abs(v)
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3)
  return Number(v.toPrecision(5)).toString()
}

export function renderHistogramSvg(h: Hist1D, opts: RenderOptions = {}): string {
  const W = Math.max(200, Math.round(opts.width ?? 640))
  const H = Math.max(150, Math.round(opts.height ?? 440))
  const font = escapeXml(opts.font ?? 'system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif')
  const line = color(opts.color, '#1f4e99')
  const fill = opts.fill === 'none' ? 'none' : color(opts.fill, '#9cb8e4')
  const title = opts.title ?? h.title ?? h.name
  const xlabel = opts.xlabel ?? h.xlabel ?? h.expr
  const ylabel = opts.ylabel ?? h.ylabel ?? (h.weight ? 'Weighted events' : 'Events')
  const { nbins, low, high } = h.axis
  const showErr = opts.errors ?? nbins <= 100
  const logy = !!opts.logy

  const ml = 72
  const mr = 20
  const mt = 40
  const mb = 56
  const pw = W - ml - mr
  const ph = H - mt - mb

  const content = h.sumw.slice(1, nbins + 1)
  const err = h.sumw2.slice(1, nbins + 1).map((x) => Math.sqrt(Math.max(0, x)))
  /** the error bar drawn on bin i (none when hidden) */
  const bar = (i: number) => (showErr ? (err[i] ?? 0) : 0)
  let ymin: number
  let ymax: number
  if (logy) {
    const pos = content.filter((v) => v > 0)
    const lo = pos.length ? Math.min(...pos) : 0.1
    const hi = pos.length ? Math.max(...content.map((v, i) => v + bar(i))) : 1
    ymin = 10 ** Math.floor(Math.log10(lo) - 0.3)
    ymax = 10 ** Math.ceil(Math.log10(hi) + 0.3)
  } else {
    const top = Math.max(0, ...content.map((v, i) => v + bar(i)))
    const bottom = Math.min(0, ...content.map((v, i) => v - bar(i)))
    ymax = top > 0 ? top * 1.15 : bottom < 0 ? 0 : 1
    ymin = bottom < 0 ? bottom * 1.15 : 0
  }
  const X = (x: number) => ml + ((x - low) / (high - low)) * pw
  const Y = (y: number) => {
    let t: number
    if (logy) t = (Math.log10(Math.max(y, ymin)) - Math.log10(ymin)) / (Math.log10(ymax) - Math.log10(ymin))
    else t = (y - ymin) / (ymax - ymin)
    return mt + ph - Math.max(0, Math.min(1, t)) * ph
  }
  const base = logy ? Y(ymin) : Y(Math.max(ymin, 0))

  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${font}" font-size="12" role="img" aria-label="${escapeXml(title)}">`,
  )
  out.push(`<title>${escapeXml(title)}</title>`)
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`)

  // grid + y ticks
  const yticks: { v: number; label: string }[] = []
  if (logy) {
    for (let e = Math.round(Math.log10(ymin)); e <= Math.round(Math.log10(ymax)); e++) {
      yticks.push({ v: 10 ** e, label: e >= -3 && e <= 5 ? formatTick(10 ** e, 10 ** e) : `1e${e}` })
    }
  } else {
    const { ticks, step } = niceTicks(ymin, ymax, Math.max(3, Math.round(ph / 60)))
    for (const t of ticks) yticks.push({ v: t, label: formatTick(t, step) })
  }
  out.push('<g class="y-axis" stroke="#e5e7eb" stroke-width="1">')
  for (const t of yticks) out.push(`<line x1="${ml}" x2="${ml + pw}" y1="${r2(Y(t.v))}" y2="${r2(Y(t.v))}"/>`)
  out.push('</g>')

  // histogram
  let d = `M${r2(X(low))},${r2(base)}`
  for (const [i, v] of content.entries()) {
    const y = logy && v <= 0 ? base : Y(v)
    d += `V${r2(y)}H${r2(X(low + ((i + 1) * (high - low)) / nbins))}`
  }
  d += `V${r2(base)}`
  out.push(
    `<path class="hist" d="${d}" fill="${fill}" fill-opacity="0.6" stroke="${line}" stroke-width="1.5" stroke-linejoin="miter"/>`,
  )
  if (showErr) {
    out.push(`<g class="errors" stroke="${line}" stroke-width="1">`)
    for (const [i, v] of content.entries()) {
      const e = bar(i)
      if (e === 0 || (logy && v <= 0)) continue
      const xc = X(low + ((i + 0.5) * (high - low)) / nbins)
      out.push(`<line x1="${r2(xc)}" x2="${r2(xc)}" y1="${r2(Y(v - e))}" y2="${r2(Y(v + e))}"/>`)
    }
    out.push('</g>')
  }

  // frame and axes
  out.push(`<rect x="${ml}" y="${mt}" width="${pw}" height="${ph}" fill="none" stroke="#111827" stroke-width="1"/>`)
  out.push('<g class="y-ticks" stroke="#111827">')
  for (const t of yticks) out.push(`<line x1="${ml}" x2="${ml + 5}" y1="${r2(Y(t.v))}" y2="${r2(Y(t.v))}"/>`)
  out.push('</g>')
  out.push('<g class="y-labels" fill="#111827" text-anchor="end">')
  for (const t of yticks) out.push(`<text x="${ml - 6}" y="${r2(Y(t.v) + 4)}">${escapeXml(t.label)}</text>`)
  out.push('</g>')
  const { ticks: xt, step: xs } = niceTicks(low, high, Math.max(3, Math.round(pw / 80)))
  out.push('<g class="x-ticks" stroke="#111827">')
  for (const t of xt) out.push(`<line x1="${r2(X(t))}" x2="${r2(X(t))}" y1="${mt + ph}" y2="${mt + ph - 5}"/>`)
  out.push('</g>')
  out.push('<g class="x-labels" fill="#111827" text-anchor="middle">')
  for (const t of xt) out.push(`<text x="${r2(X(t))}" y="${mt + ph + 16}">${escapeXml(formatTick(t, xs))}</text>`)
  out.push('</g>')
  out.push(
    `<text class="x-title" x="${ml + pw}" y="${H - 14}" text-anchor="end" font-size="13">${escapeXml(xlabel)}</text>`,
  )
  out.push(
    `<text class="y-title" x="${-mt}" y="16" transform="rotate(-90)" text-anchor="end" font-size="13">${escapeXml(ylabel)}</text>`,
  )
  out.push(`<text class="title" x="${ml}" y="${mt - 14}" font-size="15" font-weight="600">${escapeXml(title)}</text>`)

  if (opts.stats ?? true) {
    const s = histogramStats(h)
    const lines: [string, string][] = [
      ['Entries', String(h.entries)],
      ['Mean', formatStat(s.mean)],
      ['Std Dev', formatStat(s.stddev)],
    ]
    if (h.weight) lines.push(['Integral', formatStat(s.integral)])
    if (s.underflow !== 0) lines.push(['Underflow', formatStat(s.underflow)])
    if (s.overflow !== 0) lines.push(['Overflow', formatStat(s.overflow)])
    if (h.missing) lines.push(['Missing', String(h.missing)])
    const bw = 150
    const bh = 8 + lines.length * 16
    const bx = ml + pw - bw - 6
    const by = mt + 6
    out.push(
      `<g class="stats" font-size="11"><rect x="${bx}" y="${by}" width="${bw}" height="${bh}" fill="#ffffff" fill-opacity="0.9" stroke="#6b7280"/>`,
    )
    lines.forEach(([k, v], i) => {
      const y = by + 16 + i * 16
      out.push(
        `<text x="${bx + 8}" y="${y}" fill="#374151">${escapeXml(k)}</text><text x="${bx + bw - 8}" y="${y}" text-anchor="end" fill="#111827">${escapeXml(v)}</text>`,
      )
    })
    out.push('</g>')
  }
  out.push('</svg>')
  return out.join('\n')
}

export interface CutflowTable {
  columns: string[]
  /** cells are HTML-escaped strings; `depth` gives the indentation of the cut name */
  rows: { depth: number; kind: string; cells: string[] }[]
}

/** Cutflow as a table of HTML-safe strings: cut, input, passed, efficiency, cumulative efficiency, weighted. */
export function cutflowTable(cf: Cutflow): CutflowTable {
  const total = cf.rows[0]?.passed ?? 0
  const pct = (a: number, b: number) => (b > 0 ? `${(Math.round((a / b) * 10000) / 100).toFixed(2)}%` : '—')
  const columns = ['Cut', 'Input', 'Passed', 'Efficiency', 'Cumulative', 'Passed alone']
  if (cf.weight) columns.push('Weighted', 'Weighted error')
  const rows = cf.rows.map((r) => {
    const cells = [
      escapeXml(r.name),
      String(r.input),
      String(r.passed),
      pct(r.passed, r.input),
      pct(r.passed, total),
      String(r.passedAlone),
    ]
    if (cf.weight) cells.push(escapeXml(formatStat(r.sumw)), escapeXml(formatStat(Math.sqrt(Math.max(0, r.sumw2)))))
    return { depth: r.depth, kind: r.kind, cells }
  })
  return { columns: columns.map(escapeXml), rows }
}

/** Cutflow as an HTML <table> string (escaped; indentation by depth). */
export function cutflowHtml(cf: Cutflow): string {
  const t = cutflowTable(cf)
  const head = `<tr>${t.columns.map((c) => `<th>${c}</th>`).join('')}</tr>`
  const body = t.rows
    .map(
      (r) =>
        `<tr class="cut-${escapeXml(r.kind)}">${r.cells
          .map((c, i) => (i === 0 ? `<td style="padding-left:${r.depth}em">${c}</td>` : `<td>${c}</td>`))
          .join('')}</tr>`,
    )
    .join('\n')
  return `<table class="cutflow">\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`
}
