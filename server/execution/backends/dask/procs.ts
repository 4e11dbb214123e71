/**
 * Process helpers for the Dask backend: the processes we start (scheduler, local workers, the
 * bridge) are started in their own process group, remembered, and killed on stop or when Node
 * exits, so nothing outlives a run. /proc inspection for tests and for checks after a cancel.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs'
import type { RunAs } from '../../types.ts'

/** every process group this Node process started and has not seen exit (killed on exit) */
const liveGroups = new Set<number>()
let exitHookInstalled = false

function installExitHook() {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const pid of liveGroups) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        /* gone */
      }
    }
  })
}

export interface SpawnedProcess {
  child: ChildProcess
  pid: number
  /** resolves with the exit code / signal once the process has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly running: boolean
}

/**
 * Spawn a long-running helper in its own process group (detached), its stdout/stderr appended to
 * `logFile` (or piped when `pipe` is set). It is killed (group) when Node exits.
 */
export function spawnGroup(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; logFile?: string; pipe?: boolean; runAs?: RunAs | null },
): SpawnedProcess {
  if (opts.runAs) return spawnGroupAs(argv, { ...opts, runAs: opts.runAs })
  installExitHook()
  let fd: number | null = null
  let stdio: SpawnOptions['stdio']
  if (opts.pipe) stdio = ['pipe', 'pipe', opts.logFile ? (fd = openSync(opts.logFile, 'a')) : 'pipe']
  else if (opts.logFile) {
    fd = openSync(opts.logFile, 'a')
    stdio = ['ignore', fd, fd]
  } else stdio = ['ignore', 'ignore', 'ignore']
  const child = spawn(argv[0]!, argv.slice(1), { env: opts.env ?? process.env, cwd: opts.cwd, detached: true, stdio })
  if (fd !== null) closeSync(fd)
  return track(child)
}

/**
 * Users mode: the process runs as `runAs` (uid/gid) and opens its own log file, through a shell of
 * that user, so the server never opens a path inside the account's directory (a symlink planted
 * there would otherwise make the server append to any file it can write).
 */
function spawnGroupAs(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; logFile?: string; pipe?: boolean; runAs: RunAs },
): SpawnedProcess {
  installExitHook()
  let cmd = argv
  if (opts.logFile)
    cmd = [
      '/bin/sh',
      '-c',
      opts.pipe ? 'exec 2>>"$0"; exec "$@"' : 'exec >>"$0" 2>&1; exec "$@"',
      opts.logFile,
      ...argv,
    ]
  const stdio: SpawnOptions['stdio'] = opts.pipe
    ? ['pipe', 'pipe', opts.logFile ? 'ignore' : 'pipe']
    : ['ignore', 'ignore', 'ignore']
  const child = spawn(cmd[0]!, cmd.slice(1), {
    env: opts.env ?? ({} as NodeJS.ProcessEnv),
    cwd: opts.cwd ?? '/',
    detached: true,
    stdio,
    uid: opts.runAs.uid,
    gid: opts.runAs.gid,
  })
  return track(child)
}

function track(child: ChildProcess): SpawnedProcess {
  let running = true
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      running = false
      if (child.pid) liveGroups.delete(child.pid)
      resolve({ code: 127, signal: null })
      void e
    })
    child.once('exit', (code, signal) => {
      running = false
      if (child.pid) liveGroups.delete(child.pid)
      resolve({ code, signal })
    })
  })
  if (child.pid) liveGroups.add(child.pid)
  return {
    child,
    pid: child.pid ?? -1,
    exited,
    get running() {
      return running
    },
  }
}

/** SIGTERM the process group, SIGKILL it after `graceMs`; resolves when the leader exited */
export async function stopGroup(p: SpawnedProcess, graceMs = 3000): Promise<void> {
  if (p.pid <= 0) return
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-p.pid, sig)
    } catch {
      /* gone */
    }
  }
  if (p.running) {
    kill('SIGTERM')
    const t = setTimeout(() => kill('SIGKILL'), graceMs)
    await p.exited
    clearTimeout(t)
  }
  // whatever else is still in the group (a worker's reaper finishes its job first, then exits)
  const deadline = Date.now() + graceMs
  while (groupMembers(p.pid).length > 0 && Date.now() < deadline) await sleep(50)
  kill('SIGKILL')
  liveGroups.delete(p.pid)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export interface ProcInfo {
  pid: number
  ppid: number
  pgid: number
  sid: number
  state: string
  cmdline: string
}

/** the process table from /proc (zombies included; `state` 'Z' marks them) */
export function procTable(): ProcInfo[] {
  const out: ProcInfo[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return out
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const r = stat.lastIndexOf(')')
      const f = stat.slice(r + 2).split(' ')
      let cmdline = ''
      try {
        cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
      } catch {
        /* raced */
      }
      out.push({ pid: Number(d), ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), state: f[0]!, cmdline })
    } catch {
      /* exited meanwhile */
    }
  }
  return out
}

/** live (non-zombie) processes whose process group is `pgid` */
export function groupMembers(pgid: number): ProcInfo[] {
  return procTable().filter((p) => p.pgid === pgid && p.state !== 'Z')
}

/** is this pid alive (and not a zombie)? */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    return state !== 'Z'
  } catch {
    return false
  }
}

/** live processes whose command line contains `needle` */
export function findProcesses(needle: string): ProcInfo[] {
  return procTable().filter((p) => p.state !== 'Z' && p.cmdline.includes(needle) && p.pid !== process.pid)
}
