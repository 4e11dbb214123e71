import type { AuthUser } from '../auth/core.ts'
import type { Db } from '../db/client.ts'
import { type Actor, findUserId } from '../library/policy.ts'

/**
 * The caller as the domain sees it. In users mode it carries its User row id when it has one
 * (created on its first write); token mode has one user who may change everything, so no request
 * pays a database read for it (writes resolve the id when they need it: actorUserId).
 */
export async function actorOf(db: Db, user: AuthUser): Promise<Actor> {
  const id = user.mode === 'users' ? await findUserId(db, user.name) : null
  return { id, name: user.name, admin: user.admin, mode: user.mode }
}
