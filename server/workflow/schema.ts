/**
 * The workflow language as zod schemas. These schemas are the single source of truth for:
 *  - the structural validation done by the compiler (stage by stage, issues mapped back to YAML ranges),
 *  - `workflowJsonSchema()`, the JSON Schema used by monaco-yaml for completion and hover.
 *
 * Semantic rules (memory/duration syntax, routing, graph checks) live in compile.ts; the schemas only
 * describe shapes, so a value of the right type with a bad meaning is reported once, by the compiler.
 */
import { z } from 'zod'
import { BACKENDS, BUILTIN_OPS, ENVIRONMENT_TYPES, KNOWN_MODIFIERS, STRATEGIES } from './catalog.ts'

const memory = z
  .union([z.string(), z.number()], {
    error: 'expected a size such as 4GB, 512MiB or 64G (a plain number is MB)',
  })
  .describe('Memory size: 4GB, 512MiB, 64G (binary units: GB = GiB = 1024^3 bytes). A plain number is MB, as in Slurm.')

const duration = z
  .union([z.string(), z.number()], { error: 'expected a duration such as 02:00:00, 1-00:00:00, 90m or 2h' })
  .describe('Duration: HH:MM:SS, D-HH:MM:SS, 90m, 2h, 30s.')

/** fasthep-flow (and YAML written by hand) gives counts as strings too: `workers: "2"`. */
const count = (what: string) =>
  z.union(
    [
      z.int({ error: `expected a whole number of ${what} (1 or more)` }).positive(),
      z.string().regex(/^\s*[1-9]\d*\s*$/, { error: `expected a whole number of ${what} (1 or more)` }),
    ],
    { error: `expected a whole number of ${what} (1 or more)` },
  )

const gpuCount = z
  .union([z.int().nonnegative(), z.string().regex(/^\s*\d+\s*$/)], { error: 'expected a whole number of GPUs' })
  .describe('Number of GPUs per worker.')

export const ResourceSpecSchema = z
  .strictObject({
    cpus: z.number().positive().optional().describe('CPU cores per worker (default 1).'),
    memory: memory.optional(),
    gpus: gpuCount.optional(),
    disk: z
      .union([z.string(), z.number()], { error: 'expected a size such as 20GB' })
      .optional()
      .describe('Scratch disk per worker, e.g. 20GB (HTCondor request_disk).'),
  })
  .describe('Resources of one worker: {cpus, memory, gpus, disk}.')

export const PoolConfigSchema = z
  .looseObject({
    partition: z.string().optional().describe('Slurm partition (--partition).'),
    account: z.string().optional().describe('Batch account (Slurm --account, HTCondor accounting group).'),
    qos: z.string().optional().describe('Slurm quality of service (--qos).'),
    queue: z
      .string()
      .optional()
      .describe('Slurm: the partition (as in dask-jobqueue). HTCondor: the JobFlavour (espresso, longlunch, workday).'),
    walltime: duration
      .optional()
      .describe("Slurm --time (HH:MM:SS or D-HH:MM:SS); under HTCondor the job's +MaxRuntime (as in dask-jobqueue)."),
    maxruntime: duration.optional().describe('HTCondor +MaxRuntime in seconds or a duration such as 2h.'),
    constraint: z.string().optional().describe('Slurm --constraint (node features).'),
    requirements: z.string().optional().describe('HTCondor requirements expression.'),
    extra: z
      .union([z.array(z.string()), z.record(z.string(), z.unknown())], {
        error: 'expected a list of extra directives or a map of them',
      })
      .optional()
      .describe('Extra batch directives (list of lines, or a map of directive -> value).'),
    job_extra_directives: z
      .union([z.array(z.string()), z.record(z.string(), z.unknown())], {
        error: 'expected a list of extra directives or a map of them',
      })
      .optional()
      .describe('dask-jobqueue name of `extra`: added to the job script / submit description.'),
    worker_extra_args: z
      .array(z.string(), { error: 'expected a list of command-line arguments' })
      .optional()
      .describe('Extra arguments of the Dask worker command (dask backend only), e.g. ["--lifetime", "2h"].'),
  })
  .describe('Site configuration of the pool (depends on the strategy); unknown keys are kept as given.')

export const PoolSchema = z
  .strictObject({
    workers: count('workers').optional().describe('Number of workers in the pool (default 1).'),
    resources: z
      .union([z.string(), ResourceSpecSchema], {
        error: 'expected a resource class name (from execution.resources) or a map {cpus, memory, gpus, disk}',
      })
      .optional()
      .describe(
        'Worker resources, inline {cpus, memory, gpus, disk}, or the name of a class under execution.resources.',
      ),
    config: PoolConfigSchema.optional(),
    use: z
      .string()
      .optional()
      .describe("Kept as metadata (a warning says so): the site's pool settings apply by the pool's name."),
    description: z.string().optional(),
  })
  .describe('A group of workers with the same capabilities.')

export const EnvironmentSchema = z
  .union(
    [
      z.discriminatedUnion('type', [
        z.strictObject({
          type: z
            .literal('shared-fs')
            .describe('Workers see the same software as the submit host (shared filesystem).'),
          python: z.string().optional().describe('Python interpreter on the workers.'),
          setup: z
            .union([z.string(), z.array(z.string())])
            .optional()
            .describe('Shell lines sourced before a task.'),
          env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
        }),
        z.strictObject({
          type: z.literal('packed-pixi').describe('A `pixi pack` archive is shipped to the workers and unpacked.'),
          archive_path: z.string().describe('Path of the packed environment (pixi pack --create-executable output).'),
          environment: z.string().optional().describe('Pixi environment name (default "default").'),
          worker_env_dir: z
            .string()
            .optional()
            .describe('Directory the archive unpacks to on the worker (default "worker-env").'),
        }),
        z.strictObject({
          type: z.literal('conda-pack').describe('A conda-pack tarball is shipped to the workers and unpacked.'),
          archive_path: z.string().describe('Path of the conda-pack archive (.tar.gz).'),
          worker_env_dir: z
            .string()
            .optional()
            .describe('Directory the archive unpacks to on the worker (default "worker-env").'),
        }),
      ]),
      z.enum(ENVIRONMENT_TYPES),
    ],
    { error: `expected {type: ${ENVIRONMENT_TYPES.join(' | ')}, ...}` },
  )
  .describe('How Python packages, FAST-HEP components and analysis code reach the workers.')

const credentialFields = {
  env: z
    .string()
    .optional()
    .describe('Environment variable naming the credential file (e.g. X509_USER_PROXY, BEARER_TOKEN_FILE).'),
  path: z.string().optional().describe('Path of the credential file (a reference, never the secret itself).'),
  required: z.boolean().optional().describe('Fail before dispatch when the credential is missing (default true).'),
  min_valid: duration
    .optional()
    .describe('Minimum remaining lifetime at dispatch, e.g. 2h (a plain number is seconds).'),
}

export const CredentialSchema = z
  .union([z.strictObject(credentialFields), z.boolean(), z.null()], {
    error: 'expected {env | path, required, min_valid}, or true to discover it',
  })
  .describe('Where to find the credential: {env: VAR} or {path: FILE}; `true` or {} discovers it in the usual places.')

export const CredentialListItemSchema = z.strictObject({
  kind: z.enum(['x509', 'scitoken']),
  ...credentialFields,
})

export const CredentialsSchema = z
  .union(
    [
      z.strictObject({ x509: CredentialSchema.optional(), scitoken: CredentialSchema.optional() }),
      z.array(CredentialListItemSchema),
    ],
    { error: 'expected {x509: {...}, scitoken: {...}} or a list of {kind, env | path, required, min_valid}' },
  )
  .describe('Credential references (X509 proxies, SciTokens). Values are references only: never put secrets here.')

export const ExecutionConfigSchema = z
  .looseObject({
    workers: count('workers').optional().describe('Workers of the default pool (fasthep-flow: overrides its workers).'),
    n_workers: count('workers').optional().describe('Alias of workers (fasthep-flow).'),
    scheduler_address: z.string().optional().describe('Address of an existing Dask scheduler (dask backend only).'),
    python: z.string().optional().describe('Python interpreter used by workers.'),
    walltime: duration.optional().describe('Default Slurm walltime (not available under HTCondor).'),
    log_directory: z
      .string()
      .optional()
      .describe('Not supported: job output is kept in the run directory (shown by the run page and the CLI).'),
    credential_policy: z
      .enum(['refuse', 'warn'], { error: 'expected refuse (the default) or warn' })
      .optional()
      .describe(
        'refuse (default): a required credential that is missing or expiring stops the run; warn: it only warns.',
      ),
    nthreads: count('nthreads')
      .optional()
      .describe('Dask threads per worker: only 1 (each worker runs one task at a time; dask backend only).'),
    threads_per_worker: count('threads_per_worker')
      .optional()
      .describe('fasthep-flow / LocalCluster name of nthreads: only 1 (dask backend only).'),
    processes: z.boolean().optional().describe('Dask workers as processes: only true (dask backend only).'),
    memory_limit: memory
      .optional()
      .describe('Dask worker --memory-limit where the pool sets no memory (dask backend only).'),
    death_timeout: duration
      .optional()
      .describe('Seconds a Dask worker waits for an unreachable scheduler before it exits (dask backend only).'),
    dashboard_address: z
      .string()
      .optional()
      .describe(
        'Address of the dashboard of the Dask scheduler Control Room starts, e.g. ":8787" (dask backend only).',
      ),
  })
  .describe('Backend/strategy configuration; unknown keys are kept as given.')

export const ExecutionSchema = z
  .strictObject({
    backend: z.enum(BACKENDS).optional().describe('Who schedules tasks: local (built in) or dask.'),
    strategy: z.enum(STRATEGIES).optional().describe('How workers are created: local (default), slurm or htcondor.'),
    profiles: z
      .array(z.string())
      .optional()
      .describe('Kept as metadata, as in fasthep-flow: selects no profile (use.profiles does).'),
    resources: z
      .record(z.string(), ResourceSpecSchema)
      .optional()
      .describe('Named resource classes, referred to by pools (`resources: gpu`) and stages (`require: gpu`).'),
    pools: z.record(z.string(), PoolSchema).optional().describe('Worker pools by name.'),
    config: ExecutionConfigSchema.optional(),
    environment: EnvironmentSchema.optional(),
    credentials: CredentialsSchema.optional(),
  })
  .describe('Where and how the workflow runs.')

const modifierNames = KNOWN_MODIFIERS.map((m) => m.name) as [string, ...string[]]

export const ModifierSchema = z
  .union(
    [
      z.union([z.enum(modifierNames), z.string()]),
      z.strictObject({
        name: z.union([z.enum(modifierNames), z.string()]),
        params: z.record(z.string(), z.unknown()).optional(),
      }),
    ],
    { error: 'expected a modifier name or {name, params}' },
  )
  .describe(KNOWN_MODIFIERS.map((m) => `${m.name}: ${m.description}`).join('\n'))

export const StageExecutionSchema = z
  .strictObject({
    require: z.string().optional().describe('Label the stage requires: a pool name or a resource class.'),
    prefer: z.string().optional().describe('Label the stage prefers; falls back to `fallback` (or the default pool).'),
    fallback: z.string().optional().describe('Label used when no pool provides the preferred one.'),
    timeout: duration.optional().describe('Task timeout, e.g. 30m or 02:00:00 (a plain number is seconds).'),
    retries: z.int().nonnegative().optional().describe('How many times a failed task is retried.'),
    modifiers: z.array(ModifierSchema).optional().describe('Execution modifiers applied at runtime.'),
  })
  .describe('Execution requirements of the stage.')

const builtinOpNames = BUILTIN_OPS.map((o) => o.name) as [string, ...string[]]

export const FromItemSchema = z.union(
  [
    z.string(),
    z.strictObject({
      node: z.string().describe('Upstream stage id.'),
      port: z.string().nullable().optional().describe('Output port of the upstream stage.'),
      as: z.string().nullable().optional().describe('Name the product is bound to in this stage.'),
    }),
  ],
  { error: 'expected a stage id, "Stage.port", or {node, port, as}' },
)

export const StageSchema = z
  .strictObject({
    id: z.string().describe('Unique stage id.'),
    op: z
      .union([z.enum(builtinOpNames), z.string()])
      .describe('Operation: ' + BUILTIN_OPS.map((o) => o.name).join(', ') + ', or an op declared under registry.ops.'),
    params: z.record(z.string(), z.unknown()).nullable().optional().describe('Parameters passed to the op.'),
    needs: z
      .union([z.string(), z.array(z.string())], { error: 'expected a list of stage ids' })
      .nullable()
      .optional()
      .describe('Upstream stages. Omitted: the previous stage. []: no dependency.'),
    from: z
      .union([FromItemSchema, z.array(FromItemSchema)], {
        error: 'expected a stage id, "Stage.port", or a list of {node, port, as}',
      })
      .nullable()
      .optional()
      .describe('Products consumed from upstream stages (implies a dependency).'),
    execution: StageExecutionSchema.nullable().optional(),
    applies_to: z
      .strictObject({
        eventtype: z.enum(['data', 'mc']).optional().describe('Only datasets of this event type.'),
        datasets: z.array(z.string()).optional().describe('Only these datasets (by name).'),
      })
      .optional()
      .describe('The datasets this stage applies to (fasthep-flow): a hep.* stage reads only those.'),
    description: z.string().optional(),
    write: z.unknown().optional().describe('Output writers (fasthep-flow), kept as metadata.'),
  })
  .describe('One analysis stage.')

export const OpSpecSchema = z
  .looseObject({
    command: z
      .union([z.string(), z.array(z.string())], { error: 'expected a command string or an argv list' })
      .optional()
      .describe('Command run for each task (string run by sh -c, or argv list).'),
    python: z.string().optional().describe('Python callable "module:function".'),
    description: z.string().optional(),
  })
  .describe('A custom operation.')

export const RegistrySchema = z
  .looseObject({
    ops: z.record(z.string(), OpSpecSchema).optional().describe('Custom operations by name.'),
    modifiers: z
      .record(
        z.string(),
        z.looseObject({ description: z.string().optional(), requires_gpu: z.boolean().optional() }).nullable(),
      )
      .optional()
      .describe('Custom execution modifiers by name.'),
  })
  .describe('Registered capabilities.')

export const DatasetSchema = z.looseObject({
  name: z.string(),
  eventtype: z.string().optional(),
  files: z.union([z.string(), z.array(z.string())], { error: 'expected a file or a list of files' }),
  nevents: z.int().nonnegative().optional(),
  tree_name: z.string().optional(),
  treeName: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
})

/** A dataset in a mapping keyed by its name (fasthep-flow): `name` may be left out. */
export const NamedDatasetSchema = DatasetSchema.extend({ name: z.string().optional() })

/** `data.datasets` and the top-level `datasets` include: a list, or a mapping keyed by name. */
export const DatasetCollectionSchema = z
  .union([z.array(DatasetSchema), z.record(z.string(), NamedDatasetSchema)], {
    error: 'expected a list of datasets or a mapping of name -> {files, ...}',
  })
  .describe('Datasets: a list of {name, files, ...} or a mapping name -> {files, ...}.')

export const DataSchema = z.looseObject({
  datasets: DatasetCollectionSchema.optional(),
})

export const WorkflowSchema = z
  .looseObject({
    version: z.union([z.string(), z.number()]).optional(),
    name: z.string().optional(),
    description: z.string().optional(),
    data: DataSchema.optional(),
    datasets: DatasetCollectionSchema.optional().describe(
      'Datasets included at the top level (fasthep-flow): merged before data.datasets.',
    ),
    sources: z.record(z.string(), z.unknown()).optional(),
    registry: RegistrySchema.optional(),
    use: z
      .looseObject({
        profiles: z
          .array(z.string())
          .optional()
          .describe(
            "Profiles whose execution settings apply under the workflow's own, in order: registry, basic, dask_local, hep, hep_debug, or package:registry.",
          ),
      })
      .optional(),
    defaults: z.record(z.string(), z.unknown()).optional(),
    analysis: z.looseObject({ stages: z.array(StageSchema) }),
    execution: ExecutionSchema.optional(),
  })
  .describe('A FAST-HEP workflow.')

let cachedJsonSchema: Record<string, unknown> | null = null

/**
 * JSON Schema (draft-07) of the workflow language, generated from the zod schemas above, for
 * monaco-yaml completion, hover and light validation. Returns a fresh deep copy each call.
 */
export function workflowJsonSchema(): Record<string, unknown> {
  if (!cachedJsonSchema) {
    const s = z.toJSONSchema(WorkflowSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >
    enrich(s)
    s.title = 'FAST-HEP workflow (Control Room)'
    s.$id = 'https://controlroom.local/schemas/workflow.json'
    cachedJsonSchema = s
  }
  return JSON.parse(JSON.stringify(cachedJsonSchema))
}

const ENUM_DESCRIPTIONS: Record<string, Record<string, string>> = {
  backend: {
    local: 'Built-in local scheduler (processes on this host or batch jobs).',
    dask: 'A Dask scheduler with per-pool workers.',
  },
  strategy: {
    local: 'Workers are processes on this host.',
    default: 'Same as local (fasthep-flow default).',
    slurm: 'Workers (or tasks) are Slurm jobs.',
    htcondor: 'Workers (or tasks) are HTCondor jobs.',
  },
  modifier: Object.fromEntries(
    KNOWN_MODIFIERS.map((m) => [m.name, `${m.description}${m.requiresGpu ? ' Needs a GPU pool.' : ''}`]),
  ),
  op: Object.fromEntries(BUILTIN_OPS.map((o) => [o.name, o.description])),
  environment: {
    'shared-fs': 'Workers see the submit host software on a shared filesystem.',
    'packed-pixi': 'A packed Pixi environment is shipped to each worker.',
    'conda-pack': 'A conda-pack archive is shipped to each worker.',
  },
}

/** Add `enumDescriptions` / `markdownEnumDescriptions` (understood by monaco-yaml) to known enums. */
function enrich(node: unknown): void {
  if (Array.isArray(node)) {
    for (const x of node) enrich(x)
    return
  }
  if (!node || typeof node !== 'object') return
  const o = node as Record<string, unknown>
  if (Array.isArray(o.enum)) {
    const values = o.enum.map(String)
    for (const table of Object.values(ENUM_DESCRIPTIONS)) {
      if (values.every((v) => v in table)) {
        o.enumDescriptions = values.map((v) => table[v])
        o.markdownEnumDescriptions = values.map((v) => table[v])
        break
      }
    }
  }
  for (const v of Object.values(o)) enrich(v)
}
