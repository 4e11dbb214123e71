/**
 * Every environment variable Control Room reads, declared once: its type, its default and what it
 * means. The README's settings table is generated from this list (`npx tsx scripts/settings-table.ts`),
 * and a test keeps the two in step.
 *
 * Values are read when asked for, not once at import: tests and the CLI set variables at run time,
 * and the server's start-up calls `checkSettings()` so a bad value fails at start with its name.
 */
import path from 'node:path'
import { z } from 'zod'

interface Setting<T> {
  /** what the variable means, for the README table */
  doc: string
  /** how the default reads in the README table */
  defaultDoc: string
  /** who reads it: `user` settings are for people running Control Room, `dev` for tests and benches */
  audience: 'user' | 'dev'
  parse: (raw: string | undefined) => T
}

function setting<T>(
  audience: Setting<T>['audience'],
  schema: z.ZodType<T>,
  defaultDoc: string,
  doc: string,
): Setting<T> {
  return { audience, doc, defaultDoc, parse: (raw) => schema.parse(raw === '' ? undefined : raw?.trim()) }
}

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback)
const optionalString = z.string().optional()

/** The cwd as the app root; the comment keeps Next's tracer from bundling the whole directory. */
const cwd = () => /*turbopackIgnore: true*/ process.cwd()

export const SETTINGS = {
  PORT: setting('user', positiveInt(3000), '`3000`', 'the port the dashboard listens on'),
  HOST: setting('user', z.string().default('127.0.0.1'), '`127.0.0.1`', 'the address the dashboard listens on'),
  CONTROLROOM_HOME: setting(
    'user',
    optionalString.transform((v) => path.resolve(/*turbopackIgnore: true*/ v || path.join(cwd(), 'var'))),
    '`./var`',
    'database, runs, logs, token, site file',
  ),
  DATABASE_URL: setting(
    'user',
    optionalString,
    '`file:$CONTROLROOM_HOME/controlroom.db`',
    'SQLite file (the embedded default, WAL mode) or `postgresql://user@host:port/db` for shared deployments; migrations are applied at start',
  ),
  CONTROLROOM_PG_POOL: setting('user', positiveInt(10), '`10`', 'PostgreSQL connections per server process'),
  CONTROLROOM_TOKEN: setting(
    'user',
    optionalString,
    'random, kept in `$CONTROLROOM_HOME/token` (0600)',
    'the access token of token mode',
  ),
  CONTROLROOM_AUTH: setting(
    'user',
    z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['token', 'users']).default('token')),
    '`token`',
    '`users` for shared deployments (see Security)',
  ),
  CONTROLROOM_USERS: setting('user', optionalString, 'unset', 'the user list as JSON (else `CONTROLROOM_USERS_FILE`)'),
  CONTROLROOM_USERS_FILE: setting(
    'user',
    optionalString,
    '`$CONTROLROOM_HOME/users.json`',
    'the user list of users mode: `[{"name": "alice", "password": "scrypt$...", "admin": true, "osUser": "alice"}]` (hash with `echo -n pw | npx tsx server/auth/hash-password.ts`; `osUser`: the OS account its tasks run as, see Security)',
  ),
  CONTROLROOM_USER: setting(
    'user',
    optionalString,
    'the OS user running the server',
    'the name of the single user of token mode',
  ),
  CONTROLROOM_ALLOWED_HOSTS: setting(
    'user',
    optionalString,
    'this server’s names',
    'host names (`host` or `host:port`, comma-separated; `*` any) the server answers to, against DNS rebinding; default: localhost, 127.0.0.1, [::1], `$HOST`, this machine’s hostname and addresses',
  ),
  CONTROLROOM_COMPILE_BUDGET_MS: setting(
    'user',
    positiveInt(1500),
    '`1500`',
    'time budget of compiling a saved, imported or previewed workflow (in a worker thread); over it the text is refused as too expensive',
  ),
  CONTROLROOM_SESSION_HOURS: setting('user', positiveInt(12), '`12`', 'how long a login session lasts'),
  CONTROLROOM_SESSION_SECRET: setting(
    'user',
    optionalString,
    'random, kept in `$CONTROLROOM_HOME/session-secret` (0600)',
    'the key that signs session cookies',
  ),
  CONTROLROOM_SITE: setting(
    'user',
    optionalString,
    '`$CONTROLROOM_HOME/site.yaml`',
    'the site file: where runs execute (see Configuring a site)',
  ),
  CONTROLROOM_APP_ROOT: setting(
    'user',
    optionalString.transform((v) => path.resolve(/*turbopackIgnore: true*/ v || cwd())),
    'the working directory',
    'where the app is installed (task runtimes are found there)',
  ),
  CONTROLROOM_PYTHON: setting(
    'user',
    z.string().default('/usr/bin/python3'),
    '`/usr/bin/python3`',
    'the Python that runs `python` ops and the Dask bridge',
  ),
  CONTROLROOM_KILL_GRACE_MS: setting(
    'user',
    positiveInt(3000),
    '`3000`',
    'how long a cancelled task has between SIGTERM and SIGKILL',
  ),
  CONTROLROOM_HOST_CPUS: setting(
    'user',
    z.coerce.number().int().positive().optional(),
    'detected',
    'CPUs this host offers to local pools',
  ),
  CONTROLROOM_HOST_MEMORY_BYTES: setting(
    'user',
    z.coerce.number().int().positive().optional(),
    'detected',
    'memory this host offers to local pools',
  ),
  CONTROLROOM_HOST_GPUS: setting(
    'user',
    z.coerce.number().int().nonnegative().optional(),
    'detected',
    'GPUs this host offers to local pools',
  ),
  CONTROLROOM_CREDENTIAL_POLICY: setting(
    'user',
    optionalString,
    'unset',
    'how missing or expiring credentials are treated (see Credentials)',
  ),
  CONTROLROOM_DEBUG: setting(
    'user',
    z.preprocess((v) => v !== undefined && v !== '0' && v !== 'false', z.boolean()),
    'unset',
    'log the engine’s informational messages too',
  ),
  HEP_ROOT_CACHE_MB: setting(
    'user',
    z.coerce.number().nonnegative().default(256),
    '`256` (`64` in a warm executor)',
    'megabytes of decompressed ROOT baskets a process keeps for the partitions of one file; `0` turns the cache off',
  ),
  CONTROLROOM_TASK_ENV_ALLOW: setting(
    'user',
    optionalString,
    'unset',
    'more environment variable names passed from the server to tasks (comma or space separated); everything else is withheld',
  ),
  CONTROLROOM_EXECUTOR_IDLE_MS: setting(
    'user',
    positiveInt(120_000),
    '`120000`',
    'how long a warm executor waits without work before it exits',
  ),
  CONTROLROOM_EXECUTOR_NODE_ARGS: setting(
    'dev',
    optionalString,
    'unset',
    'node flags for the executors (e.g. `--cpu-prof --cpu-prof-dir=DIR`)',
  ),
  CONTROLROOM_STRICT_TRANSITIONS: setting(
    'dev',
    optionalString,
    'on in tests and development',
    '`1` / `0`: an illegal task state transition throws (else it is logged and refused)',
  ),
  NEXT_DIST_DIR: setting(
    'dev',
    z.string().default('.next'),
    '`.next`',
    'the build directory (a test build beside a served one)',
  ),
  TEST_DATABASE_URL_PG: setting('dev', optionalString, 'set by `npm test`', 'the PostgreSQL the tests use'),
} satisfies Record<string, Setting<unknown>>

/** An environment to read from: process.env, or a plain object in tests. */
export type Env = Record<string, string | undefined>

export type SettingName = keyof typeof SETTINGS
type ValueOf<N extends SettingName> = ReturnType<(typeof SETTINGS)[N]['parse']>

export class SettingError extends Error {
  constructor(
    readonly name: string,
    message: string,
  ) {
    super(message)
  }
}

/** The current value of one setting, parsed and defaulted; a bad value throws with the variable's name. */
export function readSetting<N extends SettingName>(name: N, env: Env = process.env): ValueOf<N> {
  const raw = env[name]
  try {
    return SETTINGS[name].parse(raw) as ValueOf<N>
  } catch (err) {
    const why = err instanceof z.ZodError ? (err.issues[0]?.message ?? 'invalid') : String(err)
    throw new SettingError(
      name,
      `${name}=${JSON.stringify(raw)} is not valid: ${why}. Fix or unset it (default: ${SETTINGS[name].defaultDoc}).`,
    )
  }
}

/** Every problem with the current environment, one line each (empty when all settings are valid). */
export function checkSettings(env: Env = process.env): string[] {
  const problems: string[] = []
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    try {
      readSetting(name, env)
    } catch (err) {
      problems.push((err as Error).message)
    }
  }
  return problems
}

/** The README's settings table (users' settings), as Markdown. */
export function settingsTable(): string {
  const rows = Object.entries(SETTINGS)
    .filter(([, s]) => s.audience === 'user')
    .map(([name, s]) => `| \`${name}\` | ${s.defaultDoc} | ${s.doc} |`)
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}
