/**
 * Test helper: a private sshd on 127.0.0.1 (free port, own host key, own authorized key file
 * under ./var), for the SSH transport tests of the batch strategies. Never touches ~/.ssh.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, chmodSync, existsSync, rmSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

export interface TestSshd {
  port: number
  host: '127.0.0.1'
  user: string
  dir: string
  identityFile: string
  knownHostsFile: string
  /** a second key that is NOT authorized */
  wrongIdentityFile: string
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1')
    c.once('connect', () => {
      c.destroy()
      resolve(true)
    })
    c.once('error', () => resolve(false))
  })
}

export async function startTestSshd(): Promise<TestSshd> {
  const base = path.join(REPO_ROOT, 'var', 'test-sshd')
  mkdirSync(base, { recursive: true })
  const dir = mkdtempSync(path.join(base, 'd-'))
  chmodSync(dir, 0o700)
  const keygen = (file: string) =>
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'controlroom-test', '-f', file])
  keygen(path.join(dir, 'host_key'))
  keygen(path.join(dir, 'client_key'))
  keygen(path.join(dir, 'wrong_key'))
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'client_key.pub')), { mode: 0o600 })
  const port = await freePort()
  const cfg = path.join(dir, 'sshd_config')
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'UsePAM no',
      'StrictModes no',
      'X11Forwarding no',
      'PrintMotd no',
      'MaxSessions 50',
      'MaxStartups 50:30:100',
      'LogLevel ERROR',
    ].join('\n') + '\n',
  )
  // privilege separation directory required by Debian's sshd
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const proc: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()))
  const t0 = Date.now()
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null) throw new Error(`sshd exited (${proc.exitCode}): ${stderr}`)
    if (Date.now() - t0 > 10_000) throw new Error(`sshd did not listen on ${port}: ${stderr}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const hostPub = readFileSync(path.join(dir, 'host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ')
  const knownHostsFile = path.join(dir, 'known_hosts')
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostPub}\n`)
  const user = execFileSync('id', ['-un']).toString().trim()
  return {
    port,
    host: '127.0.0.1',
    user,
    dir,
    identityFile: path.join(dir, 'client_key'),
    wrongIdentityFile: path.join(dir, 'wrong_key'),
    knownHostsFile,
    async stop() {
      if (proc.exitCode === null && proc.pid) {
        proc.kill('SIGTERM')
        await new Promise<void>((r) => {
          const t = setTimeout(r, 3000)
          proc.once('exit', () => {
            clearTimeout(t)
            r()
          })
        })
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
