import { describe, it, expect } from 'vitest'
import { renderHistogramSvg, niceTicks, formatTick, cutflowTable, cutflowHtml, escapeXml } from './render.ts'
import { hist, select } from './ops.ts'
import { emptyHistogram } from './hist.ts'
import type { EventBatch } from './types.ts'

/** in a destructuring default: fails the test when an expected result is missing */
const none = (): never => {
  throw new Error('an expected result is missing')
}

/** Minimal XML well-formedness check: balanced tags, quoted attributes, no stray '<' or '&'. */
function checkXml(s: string): void {
  const stack: string[] = []
  const re = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|([<&])/g
  let m: RegExpExecArray | null
  let last = 0
  while ((m = re.exec(s))) {
    const text = s.slice(last, m.index)
    if (/[<>]/.test(text.replace(/&(amp|lt|gt|quot|#39);/g, ''))) throw new Error(`stray bracket in text: ${text}`)
    last = re.lastIndex
    if (m[5]) {
      if (m[5] === '&' && /^&(amp|lt|gt|quot|#39);/.test(s.slice(m.index))) continue
      throw new Error(`stray ${m[5]} at ${m.index}: ${s.slice(m.index, m.index + 30)}`)
    }
    if (m[0].startsWith('<!--')) continue
    if (m[1]) {
      if (stack.pop() !== m[2]) throw new Error(`unbalanced </${m[2]}>`)
    } else if (!m[4]) stack.push(m[2]!)
  }
  if (stack.length) throw new Error(`unclosed ${stack.join(',')}`)
}

const batch: EventBatch = {
  length: 6,
  columns: { x: new Float64Array([0.5, 1.5, 1.7, 2.2, 9, -3]), w: new Float64Array([1, 2, 0.5, 1, 1, 1]) },
}

describe('ticks', () => {
  it('picks 1-2-5 steps and formats labels', () => {
    expect(niceTicks(0, 10, 5)).toEqual({ ticks: [0, 2, 4, 6, 8, 10], step: 2 })
    expect(niceTicks(60, 120, 6).ticks).toEqual([60, 70, 80, 90, 100, 110, 120])
    expect(niceTicks(0, 1.3, 6).step).toBeCloseTo(0.2)
    expect(formatTick(0.30000000000000004, 0.1)).toBe('0.3')
    expect(formatTick(2500, 500)).toBe('2500')
    expect(formatTick(2e7, 1e7)).toBe('2e7')
  })
})

describe('SVG', () => {
  it('renders a well-formed, deterministic plot with title, labels and stats', () => {
    const [h = none()] = hist(batch, {
      histograms: [
        {
          name: 'x',
          expr: 'x',
          bins: { n: 4, low: 0, high: 4 },
          weight: 'w',
          title: 'A <b>"test"</b> & more',
          xlabel: 'x [GeV]',
        },
      ],
    })
    const svg = renderHistogramSvg(h)
    checkXml(svg)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg).toContain('A &lt;b&gt;&quot;test&quot;&lt;/b&gt; &amp; more')
    expect(svg).not.toContain('<b>')
    expect(svg).toContain('x [GeV]')
    expect(svg).toContain('Weighted events')
    expect(svg).toMatch(/>Entries<\/text><text[^>]*>6<\/text>/)
    expect(svg).toContain('>Underflow<')
    expect(svg).toContain('>Overflow<')
    const path = /<path class="hist" d="([^"]+)"/.exec(svg)![1]!
    expect(path.match(/H/g)).toHaveLength(4)
    expect(svg).not.toMatch(/NaN|undefined|Infinity/)
    expect(renderHistogramSvg(h)).toBe(svg)
  })
  it('handles empty histograms, log scale and option overrides safely', () => {
    const e = emptyHistogram({ name: 'e', expr: 'x', nbins: 10, low: -1, high: 1 })
    for (const svg of [
      renderHistogramSvg(e),
      renderHistogramSvg(e, { logy: true }),
      renderHistogramSvg(e, { width: 50, height: 50 }),
    ]) {
      checkXml(svg)
      expect(svg).not.toMatch(/NaN|undefined|Infinity/)
    }
    const [h = none()] = hist(batch, { histograms: [{ name: 'x', expr: 'x', bins: { n: 40, low: 0, high: 4 } }] })
    const log = renderHistogramSvg(h, { logy: true, color: 'red" onload="x', fill: 'none', stats: false, title: 'T' })
    checkXml(log)
    expect(log).not.toContain('onload')
    expect(log).not.toContain('class="stats"')
    expect(log).not.toMatch(/NaN|undefined|Infinity/)
  })
})

describe('cutflow tables', () => {
  it('escapes names and computes efficiencies', () => {
    const { cutflow } = select(batch, {
      selection: { all: ['x > 0', { name: '<x> & w', expr: 'w >= 1' }] },
      weight: 'w',
    })
    const t = cutflowTable(cutflow)
    expect(t.columns).toEqual([
      'Cut',
      'Input',
      'Passed',
      'Efficiency',
      'Cumulative',
      'Passed alone',
      'Weighted',
      'Weighted error',
    ])
    expect(t.rows.map((r) => r.cells.slice(0, 5))).toEqual([
      ['all events', '6', '6', '100.00%', '100.00%'],
      ['x &gt; 0', '6', '5', '83.33%', '83.33%'],
      ['&lt;x&gt; &amp; w', '5', '4', '80.00%', '66.67%'],
    ])
    const html = cutflowHtml(cutflow)
    checkXml(html)
    expect(html).toContain('padding-left:1em')
    expect(escapeXml(`<a href="x">'`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;')
  })
})
