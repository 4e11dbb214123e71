/**
 * /proc helpers (Linux): process start time, liveness with pid-reuse protection, process groups.
 */
import { readFileSync, readdirSync } from 'node:fs'

/** fields of /proc/<pid>/stat after the `(comm)` part, 0-based from field 3 (state) */
function statFields(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const close = s.lastIndexOf(')')
    return s.slice(close + 2).split(' ')
  } catch {
    return null
  }
}

/** start time of a process in clock ticks since boot (field 22), or null when it does not exist */
export function processStartTicks(pid: number): number | null {
  const f = statFields(pid)
  if (!f) return null
  const v = Number(f[22 - 3])
  return Number.isFinite(v) ? v : null
}

/** process group id (field 5) */
export function processGroup(pid: number): number | null {
  const f = statFields(pid)
  if (!f) return null
  return Number(f[5 - 3])
}

/** one-letter state (field 3): R, S, D, Z (zombie), T, ... */
export function processState(pid: number): string | null {
  const f = statFields(pid)
  return f ? (f[0] ?? null) : null
}

/**
 * Is this exact process alive? With `startTicks`, a recycled pid is not mistaken for it.
 * Zombies count as dead.
 */
export function isProcessAlive(pid: number | null | undefined, startTicks?: number | null): boolean {
  if (!pid || pid <= 0) return false
  const f = statFields(pid)
  if (!f) return false
  if (f[0] === 'Z' || f[0] === 'X') return false
  if (startTicks != null && Number(f[22 - 3]) !== startTicks) return false
  return true
}

/** pids of live (non-zombie) processes whose process group is one of `pgids` */
export function processesInGroups(pgids: Iterable<number>): number[] {
  const want = new Set(pgids)
  if (want.size === 0) return []
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    const f = statFields(Number(d))
    if (!f || f[0] === 'Z' || f[0] === 'X') continue
    if (want.has(Number(f[5 - 3]))) out.push(Number(d))
  }
  return out
}

/** pids of live processes whose environment has NAME=value (e.g. CONTROLROOM_RUN_ID=<id>) */
export function processesWithEnv(name: string, value: string): number[] {
  const needle = Buffer.from(`${name}=${value}\0`)
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue
    try {
      const env = readFileSync(`/proc/${d}/environ`)
      if (env.indexOf(needle) === 0 || env.includes(Buffer.concat([Buffer.from('\0'), needle]))) {
        if (isProcessAlive(Number(d))) out.push(Number(d))
      }
    } catch {
      /* gone or not ours */
    }
  }
  return out
}

/** send a signal to a process group; false when it does not exist */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!pgid || pgid <= 1) return false
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false
  }
}

/** identity of this process (for run ownership) */
export function selfIdentity(): { pid: number; startTicks: number | null } {
  return { pid: process.pid, startTicks: processStartTicks(process.pid) }
}
