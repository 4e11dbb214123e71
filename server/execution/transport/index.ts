/**
 * Command transports shared by the batch strategies (Slurm, HTCondor).
 *   createTransport(site) -> SshTransport when the site names an ssh login host, else LocalTransport.
 */
import type { SiteConfig } from '../../site/index.ts'
import { LocalTransport } from './local.ts'
import { SshTransport } from './ssh.ts'
import type { CommandTransport } from './types.ts'

export type { CommandTransport, CommandResult, RunOptions } from './types.ts'
export { TransportError } from './types.ts'
export { LocalTransport, type LocalTransportOptions } from './local.ts'
export { SshTransport, type SshTransportOptions } from './ssh.ts'
export { shellQuote, shellJoin, isEnvName } from './quote.ts'
export { stageFile, makeDirs, readFileTail } from './files.ts'

export function createTransport(site: Pick<SiteConfig, 'ssh'>): CommandTransport {
  if (site.ssh) return new SshTransport(site.ssh)
  return new LocalTransport()
}
