import { z } from 'zod'

/**
 * The site configuration: everything about WHERE runs execute that does not belong in a workflow
 * (workflows stay portable between sites). One file per Control Room installation:
 * `$CONTROLROOM_SITE`, else `$CONTROLROOM_HOME/site.yaml` (or `site.yml` / `site.json`).
 * Every key is optional; `site.example.yaml` beside this file documents each one.
 */

const envMap = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name'),
  z.string(),
)

const directive = z
  .string()
  .regex(/^--[A-Za-z][A-Za-z0-9-]*(=.*)?$/, 'an extra directive must look like --option or --option=value')
  .refine((s) => !/[\n\r]/.test(s), 'an extra directive must be one line')

const stringOrList = z.union([z.string(), z.array(z.string())]).transform((v) => (typeof v === 'string' ? [v] : v))

export const sshSchema = z.strictObject({
  host: z.string().min(1),
  user: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  identityFile: z.string().min(1).optional(),
  knownHostsFile: z.string().min(1).optional(),
  strictHostKeyChecking: z.enum(['yes', 'accept-new', 'no']).optional(),
  /** extra `ssh -o` options, e.g. `ProxyJump=gateway.example.org` */
  options: z.array(z.string().regex(/^[A-Za-z]+[= ].+$/, 'an ssh option looks like Key=Value')).optional(),
  controlPersistSeconds: z.number().int().min(0).optional(),
  controlDir: z.string().min(1).optional(),
  connectTimeoutSeconds: z.number().int().positive().optional(),
})

export const slurmSchema = z.strictObject({
  /** default partition for pools that name none (else Slurm's default partition) */
  partition: z.string().min(1).optional(),
  account: z.string().min(1).optional(),
  qos: z.string().min(1).optional(),
  /** default time limit (`--time`) for pools that give no walltime: Slurm format or seconds */
  walltime: z.union([z.string().min(1), z.number().int().positive()]).optional(),
  /** directory holding sbatch/squeue/... when they are not on PATH */
  binDir: z.string().min(1).optional(),
  /** environment for every Slurm command (e.g. SLURM_CONF) */
  env: envMap.optional(),
  /**
   * `engine` (default): our engine releases a task when its dependencies succeeded;
   * `afterok`: tasks are submitted at once, chained with `--dependency=afterok:<ids>`.
   */
  dependencies: z.enum(['engine', 'afterok']).optional(),
  /**
   * how squeue is read: `json` (squeue --json), `format` (squeue -O text), `auto` (default: json on
   * Slurm >= 23.02, which applies job filters to --json; format on older Slurm, where --json
   * returns every job of the cluster on each poll)
   */
  squeue: z.enum(['auto', 'json', 'format']).optional(),
  /** submit a stage's many partitions as one job array (default true) */
  arrays: z.boolean().optional(),
  /** first and longest interval between two status polls (ms); polls back off while nothing changes */
  pollIntervalMs: z.number().int().min(50).optional(),
  maxPollIntervalMs: z.number().int().min(50).optional(),
  /** check partitions, cpus, memory and gres against the cluster before dispatch (default true) */
  preflight: z.boolean().optional(),
  /** prefix of every job name (default `cr`) */
  jobNamePrefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,16}$/, 'letters, digits, _ . - (at most 16)')
    .optional(),
  /** extra #SBATCH directives for every job of this site */
  extra: z.array(directive).optional(),
  /**
   * tasks of one pool packed into one job (runtime/pack.mjs runs them, up to the pool's cpus at
   * once); 1 = a job per task. Default: 16 for pools of hep.* stages, else 1. A workflow's
   * `execution.pools.<name>.config.tasks_per_job` wins.
   */
  tasksPerJob: z.number().int().min(1).max(256).optional(),
  /**
   * Per-pool defaults by pool name (the workflow stays portable: `high_memory` maps to this
   * site's `highmem` partition here, to another partition elsewhere). A pool's own `config`
   * in the workflow wins over these; these win over the site-wide defaults above.
   */
  pools: z
    .record(
      z.string(),
      z.strictObject({
        partition: z.string().min(1).optional(),
        account: z.string().min(1).optional(),
        qos: z.string().min(1).optional(),
        constraint: z.string().min(1).optional(),
        walltime: z.union([z.string().min(1), z.number().int().positive()]).optional(),
        gpu_type: z.string().min(1).optional(),
        extra: z.array(directive).optional(),
        tasks_per_job: z.number().int().min(1).max(256).optional(),
      }),
    )
    .optional(),
})

export const siteSchema = z.strictObject({
  paths: z
    .strictObject({
      /** run directories (scripts, logs, outputs). With `shared-fs` it must be visible to the compute nodes. */
      runs: z.string().min(1).optional(),
      /** node-local scratch exported to tasks as CONTROLROOM_SCRATCH */
      scratch: z.string().min(1).optional(),
    })
    .optional(),
  /** the worker environment's Python interpreter */
  python: z.string().min(1).optional(),
  /** argv prefix that starts the Control Room task runtime on a compute node */
  taskCommand: z.array(z.string().min(1)).min(1).optional(),
  environment: z
    .strictObject({
      /** shell lines run at the start of every batch job (module load, source venv/bin/activate, ...) */
      setup: stringOrList.optional(),
      /** variables exported in every batch job */
      env: envMap.optional(),
    })
    .optional(),
  /** run the batch commands on a login node through ssh; absent = on this host */
  ssh: sshSchema.optional(),
  slurm: slurmSchema.optional(),
  /** free-form sections for the other strategies and backends */
  htcondor: z.record(z.string(), z.unknown()).optional(),
  dask: z.record(z.string(), z.unknown()).optional(),
})

export type SiteConfigInput = z.input<typeof siteSchema>
export interface SlurmPoolDefaults {
  partition?: string
  account?: string
  qos?: string
  constraint?: string
  walltime?: string | number
  gpu_type?: string
  extra?: string[]
  tasks_per_job?: number
}
export type SshSiteConfig = z.output<typeof sshSchema>
export type SlurmSiteConfig = z.output<typeof slurmSchema>

/** the resolved site configuration: defaults filled, paths absolute */
export interface SiteConfig {
  /** the file it came from, or null when no file exists (all defaults) */
  source: string | null
  home: string
  paths: { runs: string; scratch: string | null }
  python: string
  taskCommand: string[] | null
  environment: { setup: string[]; env: Record<string, string> }
  ssh: SshSiteConfig | null
  slurm: {
    partition: string | null
    account: string | null
    qos: string | null
    walltime: string | number | null
    binDir: string | null
    env: Record<string, string>
    dependencies: 'engine' | 'afterok'
    squeue: 'auto' | 'json' | 'format'
    arrays: boolean
    pollIntervalMs: number
    maxPollIntervalMs: number
    preflight: boolean
    jobNamePrefix: string
    extra: string[]
    tasksPerJob: number | null
    pools: Record<string, SlurmPoolDefaults>
  }
  htcondor: Record<string, unknown>
  dask: Record<string, unknown>
}
