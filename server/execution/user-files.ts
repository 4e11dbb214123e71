/**
 * What the server (root, in users mode) does in a run's directory, where an account's OS user
 * writes too.
 *
 * The layout keeps root out of the account's directories: the run directory, its `tasks/`, its
 * `executors/` and each pool's spool directory are root's, 0711 (the account passes through but
 * can neither list, rename nor plant anything there); only the leaves are the account's: each
 * task's directory, each executor's directory, a pool's inbox and the run's working directories
 * (`USER_RUN_DIRS`). Root makes those leaves in its own directories, so no name on the way can be
 * swapped for a link between a check and a `mkdir` (the race of a directory the account owns).
 *
 * Inside a leaf the account can still plant links, and a write or chown of root's that follows one
 * reaches any file of the host (`stop` -> /etc/shadow would be truncated; a chown through a link
 * gives the file away). So here nothing follows a link: files are created anew (O_EXCL |
 * O_NOFOLLOW, after removing whatever had the name), ownership is given with fchown/lchown, a
 * directory must be one (lstat) before it is handed over, and what the account wrote is read only
 * from its own regular files, never through a link.
 */
import {
  type Dirent,
  chmodSync,
  closeSync,
  constants,
  fchownSync,
  fstatSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs'
import path from 'node:path'
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

/**
 * A directory of the account's, made by root in a directory of root's (the run directory, tasks/,
 * a pool's spool directory): 0700, the account's. Already there (a later attempt), it is taken as
 * it is, once it is a directory.
 */
export function makeUserDirectory(dir: string, runAs: RunAs): void {
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  }
  ownDirectory(dir, runAs)
  chmodSync(dir, 0o700) // the parent is root's: `dir` is the directory just checked, not a link
}

/** a directory of root's the account passes through but cannot list or change */
export function rootDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o711 })
  const st = lstatSync(dir)
  if (!st.isDirectory() || st.uid !== process.getuid?.())
    throw new Error(`${dir} is not a directory of the server's: the run directory was tampered with`)
  chmodSync(dir, 0o711)
}

/** the run's working directories its OS user writes in (hep outputs, batch scripts and logs, Dask) */
export const USER_RUN_DIRS = ['hep', 'slurm', 'condor', 'dask', '.numba-cache'] as const
/** files in the run directory itself that the account's tools write (HTCondor's job event log) */
export const USER_RUN_FILES = ['condor.log'] as const

/** lchown a tree the server made (no task has run yet: nothing there is a link of a user's) */
function giveTree(dir: string, runAs: RunAs): void {
  let entries: Dirent[]
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const e of entries) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) giveTree(p, runAs)
    lchownSync(p, runAs.uid, runAs.gid)
  }
}

/**
 * Users mode: the run directory and tasks/ become root's (0711) and the account gets its working
 * directories and files (made here, by root, in root's directory) and the plan (which its tasks
 * read). Called once the server has written what it writes there (plan.json, hep partitions).
 */
export function prepareUserRunDir(runDir: string, runAs: RunAs): void {
  rootDirectory(runDir)
  rootDirectory(path.join(runDir, 'tasks'))
  // what the server already wrote there (hep partitions) is the user's too: its tasks read it
  giveTree(path.join(runDir, 'hep'), runAs)
  for (const d of USER_RUN_DIRS) makeUserDirectory(path.join(runDir, d), runAs)
  for (const f of USER_RUN_FILES) writeNewFile(path.join(runDir, f), '', runAs)
  lchownSync(path.join(runDir, 'plan.json'), runAs.uid, runAs.gid)
}

/**
 * The JSON a task wrote in its directory (result.json, started.json), read by the server (root in
 * users mode): not through a link, and only from a regular file owned by whoever owns the task
 * directory (the run's OS user in users mode, made so by root in root's tasks/; the server itself
 * otherwise), at most `maxBytes`. A link there (to the session secret, to another account's
 * result) or a file of someone else is not read: null, as if nothing had been written yet.
 */
export function readTaskJson<T>(taskDir: string, name: string, maxBytes = 16 << 20): T | null {
  let fd: number
  try {
    const dir = lstatSync(taskDir)
    if (!dir.isDirectory()) return null
    fd = openSync(path.join(taskDir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
    const st = fstatSync(fd)
    if (!st.isFile() || st.uid !== dir.uid || st.size > maxBytes) {
      closeSync(fd)
      return null
    }
  } catch {
    return null
  }
  try {
    const buf = Buffer.allocUnsafe(fstatSync(fd).size)
    let n = 0
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n)
      if (r === 0) break
      n += r
    }
    return JSON.parse(buf.toString('utf8', 0, n)) as T
  } catch {
    return null
  } finally {
    closeSync(fd)
  }
}
