/**
 * Test helper: REAL grid credentials made offline with the Debian tools
 * (openssl, globus-proxy-utils `grid-proxy-init`, voms-clients `voms-proxy-fake`/`voms-proxy-info`,
 * scitokens-cpp `scitokens-create`). Nothing here is mocked: the proxies and tokens are the same
 * bytes these tools produce for real users; only the CA and the VOMS server are our own.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'

export interface Pki {
  dir: string
  caCert: string
  certDir: string
  userCert: string
  userKey: string
  hostCert: string
  hostKey: string
  env: Record<string, string>
}

function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): string {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, cwd, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`)
  return r.stdout
}

export function toolsAvailable(): { ok: boolean; missing: string[] } {
  const missing = ['openssl', 'grid-proxy-init', 'voms-proxy-fake', 'voms-proxy-info', 'scitokens-create'].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0,
  )
  return { ok: missing.length === 0, missing }
}

/** a test CA, a user certificate and a "VOMS server" host certificate */
export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true })
  const p = (f: string) => path.join(dir, f)
  const ext = p('ext.cnf')
  // voms-proxy-fake needs subject/authority key identifiers on the issuing certificates
  writeFileSync(
    ext,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment,dataEncipherment\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  )
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    '30',
    '-subj',
    '/DC=org/DC=ControlRoomTest/CN=Test CA',
  ])
  for (const [name, subj] of [
    ['user', '/DC=org/DC=ControlRoomTest/OU=People/CN=Alice Analyst'],
    ['host', '/DC=org/DC=ControlRoomTest/CN=voms.test.example.org'],
  ] as const) {
    run('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
      '-subj',
      subj,
    ])
    run('openssl', [
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p(`${name}.pem`),
      '-days',
      '10',
      '-extfile',
      ext,
    ])
    execFileSync('chmod', ['600', p(`${name}.key`)])
  }
  const certDir = p('certificates')
  mkdirSync(certDir, { recursive: true })
  const hash = run('openssl', ['x509', '-in', p('ca.pem'), '-noout', '-hash']).trim()
  execFileSync('cp', [p('ca.pem'), path.join(certDir, `${hash}.0`)])
  return {
    dir,
    caCert: p('ca.pem'),
    certDir,
    userCert: p('user.pem'),
    userKey: p('user.key'),
    hostCert: p('host.pem'),
    hostKey: p('host.key'),
    env: { X509_CERT_DIR: certDir, HOME: dir, RANDFILE: path.join(dir, '.rnd') },
  }
}

/** `grid-proxy-init -cert -key -out -valid H:M` (globus-proxy-utils) */
export function gridProxyInit(pki: Pki, out: string, valid: string): string {
  run('grid-proxy-init', ['-cert', pki.userCert, '-key', pki.userKey, '-out', out, '-valid', valid, '-q'], pki.env)
  return out
}

/** `voms-proxy-fake` with a VOMS attribute certificate for `vo` and its FQANs (voms-clients) */
export function vomsProxyFake(
  pki: Pki,
  out: string,
  opts: { vo?: string; fqans?: string[]; hours?: number; pastproxy?: string } = {},
): string {
  const args = [
    '-cert',
    pki.userCert,
    '-key',
    pki.userKey,
    '-out',
    out,
    '-hours',
    String(opts.hours ?? 12),
    '-rfc',
    '-q',
  ]
  if (opts.vo) {
    args.push(
      '-voms',
      opts.vo,
      '-hostcert',
      pki.hostCert,
      '-hostkey',
      pki.hostKey,
      '-uri',
      'voms.test.example.org:15000',
    )
    for (const f of opts.fqans ?? [`/${opts.vo}/Role=NULL/Capability=NULL`]) args.push('-fqan', f)
  }
  if (opts.pastproxy) args.push('-pastproxy', opts.pastproxy)
  run('voms-proxy-fake', args, pki.env, pki.dir)
  return out
}

/** `voms-proxy-info -file F -timeleft` (seconds, as the grid tools see it) */
export function vomsProxyTimeleft(pki: Pki, file: string): number {
  return Number(run('voms-proxy-info', ['-file', file, '-timeleft'], pki.env).trim())
}

export interface TokenKey {
  key: string
  pub: string
}

/** an EC P-256 signing key for scitokens-create */
export function makeTokenKey(dir: string): TokenKey {
  mkdirSync(dir, { recursive: true })
  const key = path.join(dir, 'issuer-ec.key')
  const pub = path.join(dir, 'issuer-ec.pub')
  run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key])
  run('openssl', ['ec', '-in', key, '-pubout', '-out', pub])
  return { key, pub }
}

/**
 * `scitokens-create` (scitokens-cpp): a WLCG-profile token. Its default lifetime is 600 s; it has no
 * lifetime option, so other lifetimes are set with `--claim exp=<unix time>` (the tool then writes
 * `exp` as a string, which the inspector accepts).
 */
export function scitokensCreate(
  k: TokenKey,
  claims: Record<string, string>,
  issuer = 'https://issuer.test.example.org',
): string {
  const args = ['--cred', k.pub, '--key', k.key, '--keyid', 'test-es256', '--issuer', issuer, '--profile', 'wlcg']
  for (const [name, value] of Object.entries(claims)) args.push('--claim', `${name}=${value}`)
  return run('scitokens-create', args).trim()
}
