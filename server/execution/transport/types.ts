/**
 * Command transport: how the batch-system strategies (Slurm, HTCondor) run their commands
 * (`sbatch`, `squeue`, `condor_submit`, ...). Either on this host (LocalTransport) or on a
 * cluster login node through SSH (SshTransport). Commands are argv lists, never shell strings:
 * the transport is responsible for passing them through unchanged.
 */

export interface RunOptions {
  /** written to the command's stdin, then stdin is closed */
  stdin?: string
  /** kill the command after this many milliseconds (result code 124, like coreutils `timeout`) */
  timeoutMs?: number
  /** extra environment for this command (added to the transport's own env) */
  env?: Record<string, string>
  /** working directory (on the host the command runs on) */
  cwd?: string
}

export interface CommandResult {
  /** exit code; 124 when timed out, 127 when the program was not found, 255 for ssh failures */
  code: number
  stdout: string
  stderr: string
  /** true when the command was killed because of `timeoutMs` */
  timedOut?: boolean
}

export interface CommandTransport {
  /** a short human description, e.g. `local` or `ssh root@login1:2222` */
  readonly description: string
  /**
   * `local`: this host, as the server's user (callers may use the file system directly);
   * `as-user`: this host, as another OS user (users mode): files the jobs use are written through
   * commands, so they are that user's; `ssh`: a login node, whose paths are not this host's.
   */
  readonly kind: 'local' | 'as-user' | 'ssh'
  run(argv: string[], opts?: RunOptions): Promise<CommandResult>
  /** release connections (SSH control master); idempotent */
  close?(): Promise<void>
}

export class TransportError extends Error {
  constructor(
    message: string,
    readonly result?: CommandResult,
  ) {
    super(message)
    this.name = 'TransportError'
  }
}
