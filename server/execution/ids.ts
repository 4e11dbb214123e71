import { randomBytes } from 'node:crypto'

let counter = Math.floor(Math.random() * 1296)

/** short, sortable-ish unique ids (`<prefix><time36><counter36><random>`), cuid-like length */
export function newId(prefix = 'c'): string {
  counter = (counter + 1) % 1679616
  return `${prefix}${Date.now().toString(36)}${counter.toString(36).padStart(4, '0')}${randomBytes(5).toString('hex')}`
}
