/**
 * What the server (root, in users mode) writes inside a directory an account's OS user owns: its
 * run directory, its executors' spool. That user's tasks can plant links there, and a write or a
 * chown of root's that follows one reaches any file of the host (`stop` -> /etc/shadow would be
 * truncated; a chown through a link gives the file away). So here nothing follows a link: files
 * are created anew (O_EXCL | O_NOFOLLOW, after removing whatever had the name), ownership is given
 * with fchown/lchown, and a directory must be one (lstat) before it is handed over.
 */
import {
  closeSync,
  constants,
  fchownSync,
  fstatSync,
  lchownSync,
  lstatSync,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs'
import type { RunAs } from './types.ts'

/** write `data` to a new file at `file` (a link or file already there is replaced, never followed) */
export function writeNewFile(file: string, data: string, runAs: RunAs | null, mode = 0o600): void {
  rmSync(file, { force: true })
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode)
  try {
    if (data) writeSync(fd, data)
    if (runAs) fchownSync(fd, runAs.uid, runAs.gid)
  } finally {
    closeSync(fd)
  }
}

/** open a log for appending, not through a link; with runAs it must be (or becomes) that user's file */
export function openAppend(file: string, runAs: RunAs | null): number {
  const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
  try {
    if (runAs) {
      const st = fstatSync(fd)
      if (!st.isFile() || (st.uid !== runAs.uid && st.uid !== process.getuid?.()))
        throw new Error(`${file} is not a file of ${runAs.user}: not opened`)
      fchownSync(fd, runAs.uid, runAs.gid)
    }
    return fd
  } catch (e) {
    closeSync(fd)
    throw e
  }
}

/** hand a directory the server made to the run's user (never a link put in its place) */
export function ownDirectory(dir: string, runAs: RunAs): void {
  if (!lstatSync(dir).isDirectory()) throw new Error(`${dir} is not a directory (a link or file was put there)`)
  lchownSync(dir, runAs.uid, runAs.gid)
}

/** open a file the run's user writes (its reports) for reading: not through a link, and only its own */
export function openOwnedForRead(file: string, runAs: RunAs | null): number | null {
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch {
    return null
  }
  if (runAs) {
    const st = fstatSync(fd)
    if (!st.isFile() || st.uid !== runAs.uid) {
      closeSync(fd)
      return null
    }
  }
  return fd
}
