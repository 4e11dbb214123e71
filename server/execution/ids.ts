import { randomFillSync } from 'node:crypto'

let counter = Math.floor(Math.random() * 1296)

/** random bytes drawn ahead, 5 per id: one call into crypto per 819 ids, not one per id (a run's
 * 10,000 task ids were 10,000 calls) */
const pool = Buffer.alloc(4095)
let used = pool.length

function randomHex5(): string {
  if (used + 5 > pool.length) {
    randomFillSync(pool)
    used = 0
  }
  used += 5
  return pool.toString('hex', used - 5, used)
}

/** short, sortable-ish unique ids (`<prefix><time36><counter36><random>`), cuid-like length */
export function newId(prefix = 'c'): string {
  counter = (counter + 1) % 1679616
  return `${prefix}${Date.now().toString(36)}${counter.toString(36).padStart(4, '0')}${randomHex5()}`
}
