/** Monaco's two themes: every token and line-number colour reads at >= 4.5:1 on the editor's background */
import { describe, expect, it } from 'vitest'
import { MONACO_DARK, MONACO_LIGHT, MONACO_THEMES } from './monacoTheme'

function luminance(hex: string): number {
  const h = hex.replace('#', '').slice(0, 6)
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = Number.parseInt(h.slice(i, i + 2), 16) / 255
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  }) as [number, number, number]
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return (hi + 0.05) / (lo + 0.05)
}

describe('Monaco themes', () => {
  it('has a light and a dark theme whose backgrounds match the app', () => {
    expect(MONACO_THEMES[MONACO_LIGHT]!.colors['editor.background']).toBe('#ffffff')
    expect(MONACO_THEMES[MONACO_DARK]!.colors['editor.background']).toBe('#14171d')
  })
  for (const [name, theme] of Object.entries(MONACO_THEMES)) {
    it(`${name}: every colour has contrast >= 4.5:1`, () => {
      const bg = theme.colors['editor.background']!
      const fgs = [
        ...theme.rules.map((r) => [r.token, `#${r.foreground}`] as const),
        ...(['editor.foreground', 'editorLineNumber.foreground', 'editorLineNumber.activeForeground'] as const).map(
          (k) => [k, theme.colors[k]!] as const,
        ),
      ]
      for (const [what, fg] of fgs)
        expect(contrast(fg, bg), `${name} ${what} ${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5)
    })
  }
})
