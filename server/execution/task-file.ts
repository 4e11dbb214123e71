/**
 * Opening a file of a task's directory (its logs) for the server to read and send to the browser.
 * In users mode a task's directory belongs to the account's OS user, whose task can put a symlink
 * where the server expects its log (`ln -s $CONTROLROOM_HOME/session-secret stdout.log`) or swap
 * the directory for a link to another one: the server (root) would then read any file of the host
 * and hand it over. So the last component is opened without following a link, it must be a regular
 * file, and in users mode it must belong to the run's OS user (what that user could read anyway,
 * whatever links led to it). A file that fails this is treated as absent.
 */
import { constants } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'

export async function openTaskFile(file: string, ownerUid: number | null): Promise<FileHandle | null> {
  let fh: FileHandle
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch {
    return null
  }
  try {
    const st = await fh.stat()
    if (st.isFile() && (ownerUid === null || st.uid === ownerUid)) return fh
  } catch {
    /* refused below */
  }
  await fh.close()
  return null
}

/** the OS user's uid a run's tasks run as (users mode), from the run's stored options; null otherwise */
export function runOwnerUid(options: string | null | undefined): number | null {
  if (!options) return null
  try {
    const uid = (JSON.parse(options) as { runAs?: { uid?: unknown } }).runAs?.uid
    return typeof uid === 'number' && Number.isInteger(uid) ? uid : null
  } catch {
    return null
  }
}
