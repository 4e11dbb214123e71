import type { ProblemCode } from '../../workflow/problem-codes.ts'
/**
 * Worker environments (`execution.environment`): how Python packages, FAST-HEP components and
 * analysis code reach a worker. The workflow does not change; only the job script's first lines
 * and the files shipped with the job do.
 */

export type EnvironmentDelivery = 'transfer' | 'shared-path'

export interface EnvironmentContext {
  /**
   * `transfer`: the batch system copies the archive into the job's working directory before the
   * script starts (HTCondor `transfer_input_files`); the script finds it by its basename.
   * `shared-path`: the job reads the archive at its path on a shared file system (Slurm,
   * HTCondor without file transfer) and copies it to node-local scratch first.
   */
  delivery: EnvironmentDelivery
  /**
   * Shell expression of the directory a relative `worker_env_dir` is created in. Default:
   * transfer -> `${_CONDOR_SCRATCH_DIR:-$PWD}`; shared-path -> `${CONTROLROOM_SCRATCH:-${TMPDIR:-/tmp}}/controlroom-env.$$`.
   */
  scratchDir?: string
  /** directory relative `archive_path`s are resolved against (the workflow's directory / cwd) */
  baseDir?: string
}

export interface EnvironmentProblem {
  /** `environment-archive-missing`, `environment-invalid`, `environment-duplicate-transfer-name`, ... */
  code: ProblemCode
  severity: 'error' | 'warning'
  message: string
  hint?: string
  /** the key in the workflow (`execution.environment.archive_path`) */
  path?: string
}

export interface EnvironmentSetup {
  type: 'shared-fs' | 'packed-pixi' | 'conda-pack'
  /** shell lines for the job script, run before the task (bash) */
  lines: string[]
  /** files the batch system must ship with the job (absolute paths on the submit side) */
  transferInputFiles: string[]
  /** files that must exist before dispatch (checked by preflightEnvironment) */
  requiredFiles: string[]
  /** the worker's Python after activation, as a shell word (also exported as CONTROLROOM_PYTHON) */
  python: string | null
  /** one line for the plan panel ("packed-pixi: env.sh unpacked into ./worker-env") */
  summary: string
  problems: EnvironmentProblem[]
}
