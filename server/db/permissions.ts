/**
 * The server's files are its own: CONTROLROOM_HOME, the SQLite database, the secrets and the run
 * directories are not readable by other OS users, whatever the umask the server was started with.
 *
 *   umask 077           every file this process (and a task it starts) creates: owner only
 *   home                0700; users mode 0711 (others may pass through to a run directory of
 *                       their own, handed to them by the engine, but cannot list or read the home)
 *   runs/               the same as the home
 *   secrets, database   0600 (token, session-secret, users.json, controlroom.db, -wal, -shm)
 *
 * Only files owned by the server's user are changed (a shared home prepared by an administrator
 * keeps its modes). Called once per process and home, before the database is opened.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { controlroomHome } from './url.ts'
import { readSetting } from '../settings.ts'

const done = new Set<string>()

function ownedByMe(file: string): boolean {
  try {
    return typeof process.getuid !== 'function' || statSync(file).uid === process.getuid()
  } catch {
    return false
  }
}

function chmodIfMine(file: string, mode: number) {
  if (ownedByMe(file)) chmodSync(file, mode)
}

export function homeMode(): number {
  return readSetting('CONTROLROOM_AUTH') === 'users' ? 0o711 : 0o700
}

/** Restricts the home and its secrets (idempotent; cheap after the first call per home). */
export function secureHome(sqliteFile?: string): void {
  process.umask(0o077)
  const home = controlroomHome()
  if (!done.has(home)) {
    mkdirSync(home, { recursive: true, mode: 0o700 })
    const dirMode = homeMode()
    chmodIfMine(home, dirMode)
    chmodIfMine(path.join(home, 'runs'), dirMode)
    for (const f of ['token', 'session-secret', 'users.json']) chmodIfMine(path.join(home, f), 0o600)
    done.add(home)
  }
  if (sqliteFile && sqliteFile !== ':memory:')
    for (const f of [sqliteFile, `${sqliteFile}-wal`, `${sqliteFile}-shm`, `${sqliteFile}-journal`])
      chmodIfMine(f, 0o600)
}
