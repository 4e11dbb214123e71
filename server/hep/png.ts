/**
 * SVG plots to PNG through @resvg/resvg-js (a Rust SVG renderer, already a dependency of jsroot):
 * system fonts, DejaVu Sans when the SVG's families are missing, at `scale` times the SVG's size.
 */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js')
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    background: '#ffffff',
  })
  return r.render().asPng()
}
