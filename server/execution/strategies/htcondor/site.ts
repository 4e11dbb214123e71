/**
 * The `htcondor:` section of the site configuration (server/site/schema.ts keeps it free-form;
 * it is validated here). Every key is optional:
 *
 * htcondor:
 *   binDir: /usr/bin                # where condor_submit/condor_q/... live when not on PATH
 *   env: { CONDOR_CONFIG: /etc/condor/condor_config }   # environment of every condor command
 *   schedd: schedd01.example.org    # -name for condor_submit/condor_q/condor_rm/condor_history
 *   pool: cm.example.org            # -pool (central manager)
 *   universe: vanilla               # default vanilla
 *   accountingGroup: group_u_CMS.u_zh   # accounting_group for every job (a pool's config wins)
 *   accountingGroupUser: alice      # accounting_group_user
 *   jobFlavour: workday             # default +JobFlavour (CERN) for pools that name none
 *   requirements: (OpSysAndVer == "AlmaLinux9")   # AND-ed with each pool's requirements
 *   walltime: maxruntime            # maxruntime | reject | allowed_execute_duration | jobflavour | ignore
 *   shouldTransferFiles: YES        # YES | NO | IF_NEEDED; default YES when something must be transferred
 *   holds: fail                     # fail: a job held by the system fails its task (condor_rm); wait: it stays held
 *   extra: ['+ProjectName = "fasthep"']   # extra submit commands for every job
 *   pollIntervalMs: 2000
 *   maxPollIntervalMs: 30000
 *   eventLog: true                  # read the job event log (<run>/condor.log) as the primary status source
 *   preflight: true                 # refuse pools no slot of `condor_status` can host (cpus, memory, gpus, disk together)
 *   oauthServices: [scitokens]      # use_oauth_services: the schedd's credmon provides the token ($_CONDOR_CREDS/scitokens.use);
 *                                   # jobs get BEARER_TOKEN_FILE pointing at it when no token was transferred
 *   batchNamePrefix: cr             # batch_name = <prefix>-<run>-<pool>
 *
 * Walltime: HTCondor has no generic walltime request. `maxruntime` (default, as fasthep-flow and
 * dask-jobqueue read a pool's walltime) writes `+MaxRuntime = <seconds>` (CERN / FZU convention,
 * enforced only where the site's policy reads it); `reject` makes a pool walltime an error; `allowed_execute_duration` uses HTCondor's
 * built-in limit (the job is put on hold when it runs longer); `jobflavour` picks the smallest CERN
 * `+JobFlavour` that fits (espresso 20m, microcentury 1h, longlunch 2h, workday 8h, tomorrow 1d,
 * testmatch 3d, nextweek 1w); `ignore` drops it with a warning.
 */
import { z } from 'zod'

const envMap = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name'),
  z.string(),
)

export const WALLTIME_MODES = ['reject', 'maxruntime', 'allowed_execute_duration', 'jobflavour', 'ignore'] as const
export type WalltimeMode = (typeof WALLTIME_MODES)[number]

export const htcondorSiteSchema = z.strictObject({
  binDir: z.string().min(1).optional(),
  env: envMap.optional(),
  schedd: z.string().min(1).optional(),
  pool: z.string().min(1).optional(),
  universe: z.enum(['vanilla', 'container', 'docker', 'local', 'scheduler']).optional(),
  accountingGroup: z.string().min(1).optional(),
  accountingGroupUser: z.string().min(1).optional(),
  jobFlavour: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'a job flavour is one word (espresso, microcentury, workday, ...)')
    .optional(),
  requirements: z.string().min(1).optional(),
  walltime: z.enum(WALLTIME_MODES).optional(),
  shouldTransferFiles: z.enum(['YES', 'NO', 'IF_NEEDED']).optional(),
  holds: z.enum(['fail', 'wait']).optional(),
  extra: z.array(z.string().min(1)).optional(),
  pollIntervalMs: z.number().int().min(50).optional(),
  maxPollIntervalMs: z.number().int().min(50).optional(),
  eventLog: z.boolean().optional(),
  preflight: z.boolean().optional(),
  oauthServices: z.array(z.string().regex(/^[A-Za-z0-9_*-]+$/, 'an OAuth service name (e.g. scitokens)')).optional(),
  batchNamePrefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,16}$/, 'letters, digits, _ . - (at most 16)')
    .optional(),
})

export interface HTCondorSite {
  binDir: string | null
  env: Record<string, string>
  schedd: string | null
  pool: string | null
  universe: string
  accountingGroup: string | null
  accountingGroupUser: string | null
  jobFlavour: string | null
  requirements: string | null
  walltime: WalltimeMode
  shouldTransferFiles: 'YES' | 'NO' | 'IF_NEEDED' | null
  holds: 'fail' | 'wait'
  extra: string[]
  pollIntervalMs: number
  maxPollIntervalMs: number
  eventLog: boolean
  /** check pools against the slots condor_status shows before dispatch */
  preflight: boolean
  /** `use_oauth_services` (tokens managed by the schedd's credmon, in $_CONDOR_CREDS/<service>.use) */
  oauthServices: string[]
  batchNamePrefix: string
}

export class HTCondorSiteError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HTCondorSiteError'
  }
}

/** validate `site.htcondor` (the free-form record of SiteConfig) and fill the defaults */
export function resolveHTCondorSite(raw: unknown): HTCondorSite {
  const r = htcondorSiteSchema.safeParse(raw ?? {})
  if (!r.success) {
    const msg = r.error.issues.map((i) => `htcondor.${i.path.join('.')}: ${i.message}`).join('; ')
    throw new HTCondorSiteError(`invalid htcondor site configuration: ${msg}`)
  }
  const s = r.data
  return {
    binDir: s.binDir ?? null,
    env: s.env ?? {},
    schedd: s.schedd ?? null,
    pool: s.pool ?? null,
    universe: s.universe ?? 'vanilla',
    accountingGroup: s.accountingGroup ?? null,
    accountingGroupUser: s.accountingGroupUser ?? null,
    jobFlavour: s.jobFlavour ?? null,
    requirements: s.requirements ?? null,
    walltime: s.walltime ?? 'maxruntime',
    shouldTransferFiles: s.shouldTransferFiles ?? null,
    holds: s.holds ?? 'fail',
    extra: s.extra ?? [],
    pollIntervalMs: s.pollIntervalMs ?? 2000,
    maxPollIntervalMs: s.maxPollIntervalMs ?? 30000,
    eventLog: s.eventLog ?? true,
    preflight: s.preflight ?? true,
    oauthServices: s.oauthServices ?? [],
    batchNamePrefix: s.batchNamePrefix ?? 'cr',
  }
}

/** CERN lxbatch job flavours and their maximum runtimes (seconds) */
export const JOB_FLAVOURS: readonly [string, number][] = [
  ['espresso', 20 * 60],
  ['microcentury', 60 * 60],
  ['longlunch', 2 * 3600],
  ['workday', 8 * 3600],
  ['tomorrow', 24 * 3600],
  ['testmatch', 3 * 24 * 3600],
  ['nextweek', 7 * 24 * 3600],
]
