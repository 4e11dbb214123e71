import { randomFillSync } from 'node:crypto'

let counter = Math.floor(Math.random() * 1296)

/** random bytes drawn ahead: one call into crypto per 4 KiB, not one per id or key (a run's 10,000
 * task ids and keys were 20,000 calls) */
const pool = Buffer.alloc(4096)
let used = pool.length

/** `bytes` (at most 4096) cryptographically random bytes as hex */
export function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool)
    used = 0
  }
  used += bytes
  return pool.toString('hex', used - bytes, used)
}

/** short, sortable-ish unique ids (`<prefix><time36><counter36><random>`), cuid-like length */
export function newId(prefix = 'c'): string {
  counter = (counter + 1) % 1679616
  return `${prefix}${Date.now().toString(36)}${counter.toString(36).padStart(4, '0')}${randomHex(5)}`
}
