/**
 * Installs the FORMAT-FAITHFUL HTCondor CLI SIMULATOR (fake-condor.mjs) for a test: a bin
 * directory with `condor_submit`, `condor_q`, `condor_history`, `condor_rm`, `condor_version`
 * wrappers, a private state directory, and handles to move jobs (start, complete, hold, ...).
 * Not HTCondor: see fake-condor.mjs for what it reproduces and from which sources.
 */
import { mkdirSync, readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as fake from './fake-condor.mjs'

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-condor.mjs')
export const FAKE_TOOLS = [
  'condor_submit',
  'condor_q',
  'condor_history',
  'condor_rm',
  'condor_status',
  'condor_version',
] as const

export interface FakeCall {
  tool: string
  argv: string[]
  cwd: string
  at: string
}

export interface FakeJob {
  cluster: number
  proc: number
  ad: Record<string, unknown>
  log: string | null
  output: string | null
  error: string | null
  scratch?: string
}

export interface FakeCondor {
  binDir: string
  home: string
  /** the site `htcondor.env` that points the tools at this simulator */
  env: Record<string, string>
  calls(tool?: string): FakeCall[]
  /** the submit file condor_submit received for a cluster */
  submitted(cluster: number): string
  control(patch: Record<string, unknown>): void
  state(): { nextCluster: number; queue: FakeJob[]; history: FakeJob[] }
  /** Idle -> Running; its executable runs in the background unless spawn: false */
  start(id: string, opts?: { hostname?: string; slot?: string; spawn?: boolean }): boolean
  /** terminate with an exit code / signal now, or (no result) wait until its process ended */
  complete(
    id: string,
    result?: { exitCode: number | null; signal: number | null },
    waitMs?: number,
  ): { exitCode: number | null; signal: number | null } | false
  hold(id: string, reason: string, code?: number, subcode?: number): boolean
  release(id: string): boolean
  evict(id: string, reason?: string): boolean
  remove(id: string, reason: string): string[]
  forget(id: string): boolean
}

export function installFakeCondor(dir: string): FakeCondor {
  const binDir = path.join(dir, 'fake-condor-bin')
  const home = path.join(dir, 'fake-condor-home')
  mkdirSync(binDir, { recursive: true })
  mkdirSync(home, { recursive: true })
  for (const t of FAKE_TOOLS) {
    const f = path.join(binDir, t)
    writeFileSync(
      f,
      `#!/bin/sh\n# FORMAT-FAITHFUL SIMULATOR of ${t} (tests only; not HTCondor)\nexec "${process.execPath}" "${SCRIPT}" ${t} "$@"\n`,
    )
    chmodSync(f, 0o755)
  }
  return {
    binDir,
    home,
    env: { FAKE_CONDOR_HOME: home },
    calls(tool) {
      const file = path.join(home, 'calls.jsonl')
      if (!existsSync(file)) return []
      const all = readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as FakeCall)
      return tool ? all.filter((c) => c.tool === tool) : all
    },
    submitted: (cluster) => readFileSync(path.join(home, 'submits', `${cluster}.sub`), 'utf8'),
    control: (patch) => fake.setControl(home, patch),
    state: () => fake.jobs(home),
    start: (id, opts) => fake.start(home, id, opts),
    complete: (id, result, waitMs) => fake.complete(home, id, result, waitMs),
    hold: (id, reason, code = 0, subcode = 0) => fake.hold(home, id, reason, code, subcode),
    release: (id) => fake.release(home, id),
    evict: (id, reason) => fake.evict(home, id, reason),
    remove: (id, reason) => fake.remove(home, id, reason),
    forget: (id) => fake.forget(home, id),
  }
}
