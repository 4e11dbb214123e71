/**
 * X509 proxy inspection: every certificate of a PEM file (the proxy, then its chain) is read with
 * Node's `crypto.X509Certificate`; the VOMS attribute certificate (AC) extension, when present, is
 * decoded best-effort to give the VO, its FQANs and the AC lifetime. Nothing here returns or logs
 * the file content: only public facts (subjects, issuers, dates, VO attributes).
 */
import { X509Certificate } from 'node:crypto'
import {
  children,
  decodeOid,
  decodeString,
  decodeTime,
  findCertificateExtension,
  isUniversal,
  readNode,
  UNIVERSAL,
  walk,
  type DerNode,
} from './der.ts'

/** the VOMS AC certificate extension (a SEQUENCE OF SEQUENCE OF AttributeCertificate) */
export const VOMS_AC_EXTENSION_OID = '1.3.6.1.4.1.8005.100.100.5'
/** the VOMS attribute inside the AC: IetfAttrSyntax with the FQANs */
export const VOMS_ATTRIBUTE_OID = '1.3.6.1.4.1.8005.100.100.4'
/** RFC 3820 proxyCertInfo */
const PROXY_CERT_INFO_OID = '1.3.6.1.5.5.7.1.14'

export interface VomsAttributes {
  /** VO name, from the AC's policy authority (`<vo>://<host>:<port>`) */
  vo: string
  /** `<host>:<port>` of the VOMS server that issued the AC, when given */
  uri: string | null
  /** the FQANs, in the order granted (`/cms/Role=NULL/Capability=NULL`, ...) */
  fqans: string[]
  /** the AC issuer (the VOMS server certificate subject), grid `/K=V/...` form, when decodable */
  issuer: string | null
  notBefore: Date | null
  notAfter: Date | null
}

export interface X509CertSummary {
  subject: string
  issuer: string
  notBefore: Date
  notAfter: Date
  isProxy: boolean
}

export interface X509Inspection {
  /** the proxy (first certificate of the file) */
  subject: string
  issuer: string
  /** the end-entity (user) certificate subject the proxy acts for */
  identity: string
  proxyType: 'rfc' | 'legacy' | 'none'
  notBefore: Date
  /** earliest notAfter of every certificate in the file: the chain is unusable after it */
  notAfter: Date
  /** VOMS attribute certificates found in the proxy (empty when none) */
  voms: VomsAttributes[]
  certificates: X509CertSummary[]
  /** whether the file also holds a private key (a proxy does; the key itself is never read out) */
  hasPrivateKey: boolean
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g
const KEY_BLOCK = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/

/** Node gives `DC=org\nDC=Test\nCN=x`; grid tools print `/DC=org/DC=Test/CN=x` */
export function gridDn(nodeDn: string): string {
  const parts = nodeDn
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)
  return parts.length ? '/' + parts.join('/') : ''
}

export class X509InspectError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'X509InspectError'
  }
}

/** inspect the PEM text of a proxy (or any certificate file); throws X509InspectError when unreadable */
export function inspectX509Pem(pem: string): X509Inspection {
  const blocks = pem.match(CERT_BLOCK) ?? []
  if (blocks.length === 0) throw new X509InspectError('no PEM certificate found (expected -----BEGIN CERTIFICATE-----)')
  const certs: X509Certificate[] = []
  for (const b of blocks) {
    try {
      certs.push(new X509Certificate(b))
    } catch (e) {
      throw new X509InspectError(`a certificate in the file could not be parsed: ${(e as Error).message}`)
    }
  }
  const summaries: X509CertSummary[] = certs.map((c, i) => {
    const subject = gridDn(c.subject)
    const issuer = gridDn(c.issuer)
    const next = certs[i + 1]
    // a proxy is issued by the certificate that follows it and extends its subject by one CN
    const isProxy =
      findCertificateExtension(new Uint8Array(c.raw), PROXY_CERT_INFO_OID) !== null ||
      (next !== undefined && issuer === gridDn(next.subject) && subject.startsWith(issuer + '/CN='))
    return { subject, issuer, notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo), isProxy }
  })
  const first = summaries[0]!
  const firstCert = certs[0]!
  const rfc = findCertificateExtension(new Uint8Array(firstCert.raw), PROXY_CERT_INFO_OID) !== null
  const proxyType: X509Inspection['proxyType'] = rfc ? 'rfc' : first.isProxy ? 'legacy' : 'none'
  const identity = summaries.find((s) => !s.isProxy)?.subject ?? first.subject
  const notAfter = new Date(Math.min(...summaries.map((s) => s.notAfter.getTime())))
  const notBefore = first.notBefore
  const voms: VomsAttributes[] = []
  for (const c of certs) {
    voms.push(...parseVomsExtension(new Uint8Array(c.raw)))
    if (voms.length) break // the AC sits in the newest proxy
  }
  return {
    subject: first.subject,
    issuer: first.issuer,
    identity,
    proxyType,
    notBefore,
    notAfter,
    voms,
    certificates: summaries,
    hasPrivateKey: KEY_BLOCK.test(pem),
  }
}

// ------------------------------------------------------------------ VOMS

const DN_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
}

/** Name ::= SEQUENCE OF SET OF AttributeTypeAndValue -> `/K=V/...` */
function decodeName(name: DerNode): string | null {
  if (!isUniversal(name, UNIVERSAL.SEQUENCE)) return null
  const parts: string[] = []
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [t, v] = children(atv)
      if (!t || !v) continue
      const oid = decodeOid(t)
      if (!oid) continue
      parts.push(`${DN_NAMES[oid] ?? oid}=${decodeString(v)}`)
    }
  }
  return parts.length ? '/' + parts.join('/') : null
}

/** parse the VOMS AC extension of one certificate (DER); [] when absent or undecodable */
export function parseVomsExtension(certDer: Uint8Array): VomsAttributes[] {
  const ext = findCertificateExtension(certDer, VOMS_AC_EXTENSION_OID)
  if (!ext) return []
  const out: VomsAttributes[] = []
  try {
    // SEQUENCE OF (SEQUENCE OF AttributeCertificate)
    const acs: DerNode[] = []
    for (const inner of children(ext)) {
      for (const ac of children(inner)) acs.push(ac)
    }
    for (const ac of acs) {
      const acinfo = children(ac)[0]
      if (!acinfo) continue
      const fields = children(acinfo)
      // version, holder, issuer, signature, serialNumber, validity, attributes, ...
      let validity: DerNode | undefined
      let attributes: DerNode | undefined
      let issuer: string | null = null
      for (const f of fields) {
        if (isUniversal(f, UNIVERSAL.SEQUENCE)) {
          const kids = children(f)
          if (kids.length === 2 && kids.every((k) => isUniversal(k, UNIVERSAL.GeneralizedTime))) validity = f
          else if (
            kids.length > 0 &&
            kids.every((k) => isUniversal(k, UNIVERSAL.SEQUENCE) && isUniversal(children(k)[0] ?? k, UNIVERSAL.OID))
          ) {
            if (!attributes) attributes = f
          }
        } else if (f.cls === 2 && f.tag === 0 && issuer === null) {
          // v2Form [0] { issuerName GeneralNames ... }: find the directoryName [4]
          walk(f, (n) => {
            if (issuer === null && n.cls === 2 && n.tag === 4) {
              const name = children(n)[0]
              if (name) issuer = decodeName(name)
            }
          })
        }
      }
      const [nb, na] = validity ? children(validity) : []
      let vo: string | null = null
      let uri: string | null = null
      const fqans: string[] = []
      for (const attr of attributes ? children(attributes) : []) {
        const [type, values] = children(attr)
        if (!type || !values || decodeOid(type) !== VOMS_ATTRIBUTE_OID) continue
        for (const ietf of children(values)) {
          for (const part of children(ietf)) {
            if (part.cls === 2 && part.tag === 0) {
              // policyAuthority GeneralNames: the URI [6] "<vo>://<host>:<port>"
              walk(part, (n) => {
                if (n.cls === 2 && n.tag === 6 && !n.constructed) {
                  const u = decodeString(n)
                  const m = /^([^:]+):\/\/(.*)$/.exec(u)
                  if (m) {
                    vo ??= m[1]!
                    uri ??= m[2]! || null
                  }
                }
              })
            } else if (isUniversal(part, UNIVERSAL.SEQUENCE)) {
              for (const v of children(part)) {
                if (isUniversal(v, UNIVERSAL.OCTET_STRING) || isUniversal(v, UNIVERSAL.UTF8String))
                  fqans.push(decodeString(v))
              }
            }
          }
        }
      }
      if (!vo && fqans.length) vo = /^\/([^/]+)/.exec(fqans[0]!)?.[1] ?? null
      if (!vo) continue
      out.push({
        vo,
        uri,
        fqans,
        issuer,
        notBefore: nb ? decodeTime(nb) : null,
        notAfter: na ? decodeTime(na) : null,
      })
    }
  } catch {
    return out
  }
  return out
}

/** re-export for tests that want to look at raw DER */
export { readNode }
