/**
 * Who may change what (enforced here, in the domain, whatever the transport).
 *
 *   read      everyone who passed the access check
 *   change    the owner, or an admin. Token mode has one user, who may do everything.
 *
 * In users mode an object without an owner (made before users mode was switched on, or by a
 * script in token mode) can be changed by admins only: an owner-less object is nobody's, not
 * everybody's.
 */
import type { Db } from '../db/client.ts'
import { forbidden } from '../errors.ts'

export interface Actor {
  /** User row id (null when not yet known: resolved from `name` on first use) */
  id: string | null
  /** login name, recorded as the author of versions and the owner of runs */
  name: string
  /** users mode: may change anybody's workflows and runs */
  admin?: boolean
  /** 'token' (single user: may do everything) or 'users' */
  mode?: 'token' | 'users'
}

/** The single user of token mode (the CLI and server-side callers act as it). */
export function localActor(name: string): Actor {
  return { id: null, name, admin: true, mode: 'token' }
}

const userIds = new WeakMap<object, Map<string, string>>()

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string })?.code
  return code === 'P2002' || /unique constraint/i.test(String((e as Error)?.message))
}

/** The User row id for `name` (created on first use). */
export async function ensureUser(db: Db, name: string, displayName?: string): Promise<string> {
  let cache = userIds.get(db)
  if (!cache) userIds.set(db, (cache = new Map()))
  const hit = cache.get(name)
  if (hit) return hit
  for (let attempt = 0; ; attempt++) {
    try {
      const u = await db.user.upsert({
        where: { name },
        update: {},
        create: { name, displayName: displayName ?? null },
        select: { id: true },
      })
      cache.set(name, u.id)
      return u.id
    } catch (e) {
      if (attempt < 2 && isUniqueViolation(e)) continue
      throw e
    }
  }
}

/** The actor's User row id (resolved from its name when the transport did not fill it in). */
export async function actorUserId(db: Db, actor: Actor): Promise<string | null> {
  if (actor.id) return actor.id
  if (!actor.name) return null
  return ensureUser(db, actor.name)
}

/** The User row id for `name`, or null when it has none yet (reads only). */
export async function findUserId(db: Db, name: string): Promise<string | null> {
  const hit = userIds.get(db)?.get(name)
  if (hit) return hit
  return (await db.user.findUnique({ where: { name }, select: { id: true } }))?.id ?? null
}

/** May `actor` change an object owned by `ownerId`? (writes nothing) */
export async function mayChange(db: Db, actor: Actor, ownerId: string | null): Promise<boolean> {
  if (actor.mode !== 'users' || actor.admin) return true
  if (!ownerId) return false
  return ownerId === (actor.id ?? (await findUserId(db, actor.name)))
}

/**
 * Throws FORBIDDEN unless `actor` may change the object. `what` completes "only the owner of
 * <label> (or an admin) can <what>", e.g. `rename it`, `cancel it`.
 */
export async function assertMayChange(
  db: Db,
  actor: Actor,
  target: { ownerId: string | null; label: string },
  what: string,
): Promise<void> {
  if (await mayChange(db, actor, target.ownerId)) return
  throw forbidden(
    target.ownerId
      ? `only the owner of ${target.label} (or an admin) can ${what}: you are signed in as ${actor.name}`
      : `${target.label} has no owner: only an admin can ${what}`,
  )
}
