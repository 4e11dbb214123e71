import { loadExample } from '~/server/examples'

export const dynamic = 'force-dynamic'

// The YAML of one bundled example (the composer's "New from example" menu loads it on demand).
export async function GET(_req: Request, ctx: { params: Promise<{ id: string }> }) {
  const { id } = await ctx.params
  try {
    const ex = await loadExample(id)
    return new Response(ex.source, {
      headers: { 'content-type': 'text/yaml; charset=utf-8', 'cache-control': 'no-store' },
    })
  } catch {
    return new Response(`unknown example '${id}'`, { status: 404 })
  }
}
