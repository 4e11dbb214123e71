/**
 * A Dask scheduler process on this host (strategies local, slurm, htcondor). Free ports: the
 * scheduler binds port 0 and writes its address and dashboard port to its scheduler file.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { daskSchedulerArgv, withParentDeathSignal } from './command.ts'
import { sleep, spawnGroup, stopGroup, type SpawnedProcess } from '../procs.ts'
import { withoutServerSecrets } from '../../../transport/local.ts'
import { daskUserEnv, readOwned, tlsCliArgs, type DaskUser } from '../as-user.ts'

export interface SchedulerInfo {
  address: string
  id: string
  /** http://host:port of the dashboard server (`/health`, `/json/identity.json` answer without bokeh) */
  dashboard: string | null
  schedulerFile: string
  pid: number
  logFile: string
}

export interface StartSchedulerOptions {
  python: string
  dir: string
  /** interface to listen on (default 127.0.0.1) */
  host?: string
  port?: number
  /** the dashboard/health server address; null = none (default: same host, a free port) */
  dashboardAddress?: string | null
  /** seconds (default 60) */
  startTimeout?: number
  /**
   * the scheduler exits after this long without any task (Dask ignores connected clients: do not set
   * it for a run). Orphans are prevented otherwise: the scheduler dies with this Node process.
   */
  idleTimeout?: number
  env?: Record<string, string>
  /**
   * users mode: the scheduler runs as this OS user, listens with the run's mutual TLS only, and
   * has no dashboard (its HTTP pages would be open to every local user)
   */
  user?: DaskUser | null
}

export class LocalScheduler {
  private proc: SpawnedProcess | null = null
  info: SchedulerInfo | null = null

  constructor(readonly opts: StartSchedulerOptions) {}

  get running(): boolean {
    return !!this.proc?.running
  }

  get pid(): number | null {
    return this.proc?.pid ?? null
  }

  async start(): Promise<SchedulerInfo> {
    const o = this.opts
    const user = o.user ?? null
    // users mode: the directory is the account's (prepareUserDask made it, as that user)
    if (!user) mkdirSync(o.dir, { recursive: true })
    const schedulerFile = path.join(o.dir, 'scheduler.json')
    const logFile = path.join(o.dir, 'scheduler.log')
    if (!user) rmSync(schedulerFile, { force: true })
    const host = o.host ?? '127.0.0.1'
    const argv = daskSchedulerArgv({
      python: o.python,
      schedulerFile,
      host,
      port: o.port ?? 0,
      dashboardAddress: user
        ? null
        : o.dashboardAddress === undefined
          ? `${host === '0.0.0.0' ? '0.0.0.0' : host}:0`
          : o.dashboardAddress,
    })
    if (user) argv.push('--protocol', 'tls', ...tlsCliArgs(user.tls))
    if (o.idleTimeout) argv.push('--idle-timeout', `${o.idleTimeout}s`)
    this.proc = spawnGroup(withParentDeathSignal(argv), {
      logFile,
      runAs: user?.runAs ?? null,
      env: user
        ? daskUserEnv(user.runAs, o.env)
        : { ...withoutServerSecrets(process.env), PYTHONUNBUFFERED: '1', ...o.env },
    })
    const read = (f: string) => (user ? readOwned(f, user.runAs.uid) : existsSync(f) ? readFileSync(f, 'utf8') : null)
    const deadline = Date.now() + (o.startTimeout ?? 60) * 1000
    while (Date.now() < deadline) {
      if (!this.proc.running) break
      const text = read(schedulerFile)
      if (text) {
        try {
          const j = JSON.parse(text) as {
            address: string
            id: string
            services?: Record<string, number>
          }
          const port = j.services?.dashboard
          const addrHost = j.address.replace(/^[a-z]+:\/\//, '').replace(/:\d+$/, '')
          this.info = {
            address: j.address,
            id: j.id,
            dashboard: port ? `http://${addrHost}:${port}` : null,
            schedulerFile,
            pid: this.proc.pid,
            logFile,
          }
          return this.info
        } catch {
          /* partially written */
        }
      }
      await sleep(50)
    }
    const tail = (read(logFile) ?? '').trim().split('\n').slice(-5).join(' | ')
    await this.stop()
    throw new Error(`the Dask scheduler did not start (${this.proc.running ? 'timeout' : 'exited'}): ${tail}`)
  }

  async stop(): Promise<void> {
    if (this.proc) await stopGroup(this.proc, 3000)
  }
}

/** GET <dashboard>/health: "ok" when the scheduler's HTTP server answers */
export async function schedulerHealth(
  dashboard: string | null,
  timeoutMs = 2000,
): Promise<{ ok: boolean; text: string }> {
  if (!dashboard) return { ok: false, text: 'no dashboard server' }
  try {
    const r = await fetch(`${dashboard}/health`, { signal: AbortSignal.timeout(timeoutMs) })
    const text = (await r.text()).trim()
    return { ok: r.ok && text === 'ok', text }
  } catch (e) {
    return { ok: false, text: (e as Error).message }
  }
}
