import type { AuthUser } from '../auth/core.ts'
import type { Db } from '../db/client.ts'
import { type Actor, findUserId } from '../library/policy.ts'

/** The caller as the domain sees it, with its User row id when it has one (created on its first write). */
export async function actorOf(db: Db, user: AuthUser): Promise<Actor> {
  return { id: await findUserId(db, user.name), name: user.name, admin: user.admin, mode: user.mode }
}
