import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { EXAMPLES } from '~/examples/catalog.ts'

// Bundled example workflows, read from `examples/` (the catalog lists them; the compiler stays I/O free).
export function listExamples() {
  return EXAMPLES
}

export async function loadExample(
  id: string,
): Promise<{ id: string; title: string; fileName: string; source: string }> {
  const entry = EXAMPLES.find((e) => e.id === id)
  if (!entry) throw new Error(`unknown example '${id}'; known: ${EXAMPLES.map((e) => e.id).join(', ')}`)
  const source = await readFile(path.join(/*turbopackIgnore: true*/ process.cwd(), 'examples', entry.file), 'utf8')
  return { id: entry.id, title: entry.title, fileName: entry.file, source }
}
