/**
 * Command transports shared by the batch strategies (Slurm, HTCondor).
 *   createTransport(site) -> SshTransport when the site names an ssh login host, else LocalTransport;
 *   createTransport(site, runAs) -> AsUserTransport (users mode: commands run as the account's OS user).
 */
import type { SiteConfig } from '../../site/index.ts'
import type { RunAs } from '../types.ts'
import { AsUserTransport } from './as-user.ts'
import { LocalTransport } from './local.ts'
import { SshTransport } from './ssh.ts'
import type { CommandTransport } from './types.ts'

export type { CommandTransport, CommandResult, RunOptions } from './types.ts'
export { TransportError } from './types.ts'
export { LocalTransport, type LocalTransportOptions } from './local.ts'
export { AsUserTransport, asUserEnv, type AsUserTransportOptions } from './as-user.ts'
export { SshTransport, type SshTransportOptions } from './ssh.ts'
export { shellQuote, shellJoin, isEnvName } from './quote.ts'
export { stageFile, makeDirs, readFileTail } from './files.ts'

/**
 * With `runAs` (users mode) the commands run on this host as that OS user; a site that submits
 * through ssh is refused then: one login serves the whole server, and per-account keys are not
 * supported, so the jobs would belong to the ssh user (runAsFor refuses such runs before they start).
 */
export function createTransport(site: Pick<SiteConfig, 'ssh'>, runAs?: RunAs | null): CommandTransport {
  if (runAs) {
    if (site.ssh) throw new Error(sshRefusal(site.ssh.host))
    return new AsUserTransport(runAs)
  }
  if (site.ssh) return new SshTransport(site.ssh)
  return new LocalTransport()
}

/** why users mode cannot submit through an ssh login host */
export function sshRefusal(host: string): string {
  return `users mode: this site submits its jobs through ssh to ${host} with one login for the whole server, so an account's jobs would run as that login, not as the account's OS user; per-account ssh keys are not supported: run the server on a submit host (no \`ssh\` in the site file), or use token mode`
}
