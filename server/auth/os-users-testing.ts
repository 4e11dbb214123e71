/**
 * Test harness (not a test) for users mode with real OS users: creates one OS user per account
 * (useradd), an isolated database and CONTROLROOM_HOME, the engine, `users.json` mapping each
 * account to its OS user, the session secret, and a real HTTP server (the proxy gate + the tRPC
 * route handler). `close()` undoes all of it; an OS user is removed once its processes are gone
 * (userdel refuses while a user still has processes: a run's Dask processes may still be exiting).
 *
 * Needs root: not root, `startOsUsers` throws and says so.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createTRPCClient, httpBatchLink } from '@trpc/client'
import superjson from 'superjson'
import type { AppRouter } from '../api/root.ts'
import { startHarness, type Harness } from '../api/http-harness.ts'
import { setDb } from '../db/client.ts'
import { setEngine } from '../execution/engine.ts'
import { installFakeCondor, type FakeCondor } from '../execution/strategies/htcondor/__fixtures__/fake-condor/index.ts'
import { setupEngineTest, type EngineTestEnv } from '../execution/testing.ts'
import { lookupOsUser } from './os-user.ts'
import { sessionSecret } from './secrets.ts'
import { hashPassword } from './users.ts'

export type Client = ReturnType<typeof createTRPCClient<AppRouter>>

export interface Account {
  name: string
  admin?: boolean
  /** false: an account without an OS user (users mode must refuse to run its tasks) */
  osUser?: boolean
}

export interface OsUsers {
  env: EngineTestEnv
  h: Harness
  /** account name -> its OS user's name */
  os: Record<string, string>
  /** a tRPC client logged in as the account (password `<name>-password`) */
  client(name: string): Client
  /** the Basic authorization header of an account, for plain HTTP requests */
  authorization(name: string): string
  uidOf(name: string): number
  close(): Promise<void>
}

export function passwordOf(name: string): string {
  return `${name}-password`
}

function clientFor(base: string, authorization: string): Client {
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: `${base}/api/trpc`, transformer: superjson, headers: () => ({ authorization }) })],
  })
}

/** removes an OS user, waiting (up to 30 s: a batch job may still be ending) for its last processes to exit */
async function userdel(name: string): Promise<void> {
  for (let i = 0; i < 150 && lookupOsUser(name); i++) {
    try {
      execFileSync('userdel', [name], { stdio: 'ignore' })
      return
    } catch {
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

/**
 * Starts users mode with real OS users. `prefix`: a short prefix of the OS user names (each suite
 * its own, so suites running at once never share users); `env`: server environment variables set
 * for the suite (removed at close); `before`: what the suite prepares in CONTROLROOM_HOME before
 * the server starts (a site.yaml, a simulator).
 */
export async function startOsUsers(o: {
  prefix: string
  accounts: Account[]
  env?: Record<string, string>
  before?: (env: EngineTestEnv, os: Record<string, string>) => void | Promise<void>
}): Promise<OsUsers> {
  if (process.getuid?.() !== 0) throw new Error('this suite needs root: it creates OS users with useradd')
  const os: Record<string, string> = {}
  for (const a of o.accounts) {
    if (a.osUser === false) continue
    const u = `${o.prefix}${a.name.slice(0, 2)}${process.pid}`
    execFileSync('useradd', ['--no-create-home', '--shell', '/bin/sh', '--home-dir', '/nonexistent', u])
    os[a.name] = u
  }
  const env = await setupEngineTest()
  setDb(env.t.db, env.t.url)
  setEngine(env.engine)
  process.env.CONTROLROOM_AUTH = 'users'
  delete process.env.CONTROLROOM_USERS
  delete process.env.CONTROLROOM_TOKEN
  delete process.env.CONTROLROOM_SESSION_SECRET
  for (const [k, v] of Object.entries(o.env ?? {})) process.env[k] = v
  const users = o.accounts.map((a) => ({
    name: a.name,
    password: hashPassword(passwordOf(a.name)),
    ...(a.admin ? { admin: true } : {}),
    ...(os[a.name] ? { osUser: os[a.name] } : {}),
  }))
  writeFileSync(path.join(env.home, 'users.json'), JSON.stringify(users), { mode: 0o600 })
  await o.before?.(env, os)
  sessionSecret() // created as a running server does on the first login
  const h = await startHarness()
  const authorization = (name: string) => `Basic ${Buffer.from(`${name}:${passwordOf(name)}`).toString('base64')}`
  return {
    env,
    h,
    os,
    authorization,
    client: (name) => clientFor(h.url, authorization(name)),
    uidOf: (name) => lookupOsUser(os[name] ?? name)!.uid,
    async close() {
      await h.close()
      setEngine(undefined)
      await env.cleanup()
      for (const u of Object.values(os)) await userdel(u)
      delete process.env.CONTROLROOM_AUTH
      delete process.env.CONTROLROOM_TOKEN
      for (const k of Object.keys(o.env ?? {})) delete process.env[k]
    },
  }
}

/** polls `f` until it gives something truthy */
export async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const t0 = Date.now()
  for (;;) {
    const v = await f()
    if (v) return v
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 150))
  }
}

/** the tRPC error code of a call ('OK' when it succeeds) */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'OK'
  } catch (e) {
    return (e as { data?: { code?: string } }).data?.code ?? String(e)
  }
}

/** saves a workflow as the account and starts a run of it */
export async function startRun(c: Client, yaml: string, name: string): Promise<string> {
  const w = await c.workflow.saveVersion.mutate({ yaml, name })
  return (await c.run.start.mutate({ versionId: w.version.id })).runId
}

/** the first task of a stage of a run (or of the run) */
export async function taskOf(c: Client, runId: string, stage?: string) {
  const { items } = await c.run.tasks.query(stage ? { runId, stage } : { runId })
  return items[0]!
}

/**
 * The labelled HTCondor CLI simulator (HTCondor is not packaged here), set up so that an account's
 * OS user can run its tools: its state directory is shared by whoever runs them (test only), and
 * each tool is wrapped to record the uid it ran as (`<fake.home>/uids.log`, "<uid> <tool> <args>").
 * In auto mode the simulator starts a job's executable from the tool that moves it (condor_q, run
 * as the account), so the job runs as the account, as an execute node would run it as its Owner.
 * Returns the simulator and the `htcondor:` lines of a site.yaml that point at it.
 */
export function installCondorForUsers(home: string): { fake: FakeCondor; siteLines: string[] } {
  const condorDir = path.join(home, 'condor')
  mkdirSync(condorDir, { mode: 0o755 })
  chmodSync(home, 0o711)
  const fake = installFakeCondor(condorDir)
  fake.control({ mode: 'auto' })
  const wrapped = path.join(condorDir, 'bin-recording')
  mkdirSync(wrapped)
  for (const t of ['condor_submit', 'condor_q', 'condor_history', 'condor_rm', 'condor_status', 'condor_version'])
    writeFileSync(
      path.join(wrapped, t),
      // umask 0: the simulator's state is written by the server (preflight) and by the account
      `#!/bin/sh\numask 0\necho "$(id -u) ${t} $*" >> ${fake.home}/uids.log\nexec ${fake.binDir}/${t} "$@"\n`,
      { mode: 0o755 },
    )
  execFileSync('chmod', ['-R', 'a+rwX', fake.home])
  execFileSync('chmod', ['-R', 'a+rX', condorDir])
  const siteLines = [
    'htcondor:',
    `  binDir: ${wrapped}`,
    `  env: { FAKE_CONDOR_HOME: ${fake.home} }`,
    '  pollIntervalMs: 200',
    '  maxPollIntervalMs: 500',
  ]
  return { fake, siteLines }
}
