/**
 * Stable pool colours. A pool keeps its colour as long as its name does: well-known pool names have
 * fixed colours, others hash into the palette; collisions inside one plan are resolved by probing in
 * a deterministic (name-sorted) order, so two pools of one plan never share a colour while the
 * palette lasts.
 */

/** Distinct, readable on a dark background. */
export const POOL_PALETTE = [
  '#5aa9ff', // blue
  '#4cd185', // green
  '#f29e4c', // orange
  '#c77dff', // violet
  '#ff6fae', // pink
  '#3fd0d4', // cyan
  '#e9d45a', // yellow
  '#ff8a6b', // salmon
  '#9bd45b', // lime
  '#8f9cff', // periwinkle
  '#d4a373', // tan
  '#6be3b4', // mint
] as const

/** Fixed palette slots for common pool names. */
const FIXED: Record<string, number> = {
  default: 0,
  gpu: 1,
  high_memory: 2,
  highmem: 2,
  'high-memory': 2,
  cpu: 5,
  io: 6,
  bigdisk: 10,
}

/** FNV-1a, 32 bit. */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Preferred palette slot of a pool name (ignoring collisions). */
export function preferredSlot(name: string): number {
  const fixed = FIXED[name]
  if (fixed !== undefined) return fixed
  return hashString(name) % POOL_PALETTE.length
}

/** The colour of one pool name on its own. */
export function poolColor(name: string): string {
  return POOL_PALETTE[preferredSlot(name)] ?? POOL_PALETTE[0]
}

/**
 * Colours for all pools of a plan: fixed names first, then the others sorted by name, each taking its
 * preferred slot or the next free one. Deterministic for a given set of names.
 */
export function assignPoolColors(names: Iterable<string>): Record<string, string> {
  const unique = [...new Set(names)]
  const fixed = unique.filter((n) => FIXED[n] !== undefined).sort()
  const others = unique.filter((n) => FIXED[n] === undefined).sort()
  const used = new Set<number>()
  const out: Record<string, string> = {}
  for (const name of [...fixed, ...others]) {
    let slot = preferredSlot(name)
    if (used.size < POOL_PALETTE.length) {
      while (used.has(slot)) slot = (slot + 1) % POOL_PALETTE.length
    }
    used.add(slot)
    out[name] = POOL_PALETTE[slot] ?? POOL_PALETTE[0]
  }
  return out
}
