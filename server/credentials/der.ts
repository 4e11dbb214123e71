/**
 * A minimal, defensive DER (ASN.1) reader: just enough to find one extension in an X.509
 * certificate (the VOMS attribute certificate) and walk its attributes. It never throws on
 * malformed input: callers get `null` and report "no VO attributes" (best-effort).
 */

export interface DerNode {
  /** class bits (0 universal, 1 application, 2 context-specific, 3 private) */
  cls: number
  constructed: boolean
  /** tag number within its class */
  tag: number
  /** offset of the value (after the header) in the buffer */
  start: number
  /** length of the value */
  length: number
  /** offset just past this node */
  end: number
  buf: Uint8Array
}

export const UNIVERSAL = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  UTF8String: 12,
  SEQUENCE: 16,
  SET: 17,
  PrintableString: 19,
  IA5String: 22,
  UTCTime: 23,
  GeneralizedTime: 24,
} as const

/** read the node starting at `offset`; null when the header or length is malformed */
export function readNode(buf: Uint8Array, offset: number, limit = buf.length): DerNode | null {
  if (offset >= limit) return null
  const first = buf[offset]!
  const cls = first >> 6
  const constructed = (first & 0x20) !== 0
  let tag = first & 0x1f
  let p = offset + 1
  if (tag === 0x1f) {
    // high tag number form
    tag = 0
    for (let i = 0; i < 4; i++) {
      if (p >= limit) return null
      const b = buf[p++]!
      tag = (tag << 7) | (b & 0x7f)
      if ((b & 0x80) === 0) break
      if (i === 3) return null
    }
  }
  if (p >= limit) return null
  let length = buf[p++]!
  if (length & 0x80) {
    const n = length & 0x7f
    if (n === 0 || n > 4) return null // indefinite length is not DER
    length = 0
    for (let i = 0; i < n; i++) {
      if (p >= limit) return null
      length = length * 256 + buf[p++]!
    }
  }
  const end = p + length
  if (end > limit) return null
  return { cls, constructed, tag, start: p, length, end, buf }
}

/** the children of a constructed node (empty when malformed) */
export function children(node: DerNode): DerNode[] {
  const out: DerNode[] = []
  let p = node.start
  while (p < node.end) {
    const c = readNode(node.buf, p, node.end)
    if (!c) return out
    out.push(c)
    p = c.end
  }
  return out
}

export function bytes(node: DerNode): Uint8Array {
  return node.buf.subarray(node.start, node.end)
}

export function isUniversal(node: DerNode, tag: number): boolean {
  return node.cls === 0 && node.tag === tag
}

/** decode an OBJECT IDENTIFIER value to dotted form */
export function decodeOid(node: DerNode): string | null {
  if (!isUniversal(node, UNIVERSAL.OID) || node.length === 0) return null
  const b = bytes(node)
  const parts: number[] = []
  let value = 0
  for (let i = 0; i < b.length; i++) {
    value = value * 128 + (b[i]! & 0x7f)
    if ((b[i]! & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2
        parts.push(first, value - first * 40)
      } else parts.push(value)
      value = 0
    }
  }
  return parts.join('.')
}

/** decode a string-like node (UTF8, Printable, IA5, OCTET STRING as latin1/utf8) */
export function decodeString(node: DerNode): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes(node))
}

/** decode UTCTime / GeneralizedTime (Z form only, as DER requires) */
export function decodeTime(node: DerNode): Date | null {
  const s = decodeString(node)
  let m: RegExpExecArray | null
  if (isUniversal(node, UNIVERSAL.GeneralizedTime)) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s)
    if (!m) return null
    return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
  }
  if (isUniversal(node, UNIVERSAL.UTCTime)) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
    if (!m) return null
    const yy = +m[1]!
    return new Date(Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
  }
  return null
}

/** depth-first walk over every node below `node` (bounded depth) */
export function walk(node: DerNode, visit: (n: DerNode, depth: number) => void, depth = 0, maxDepth = 24): void {
  visit(node, depth)
  if (depth >= maxDepth) return
  if (node.constructed) for (const c of children(node)) walk(c, visit, depth + 1, maxDepth)
}

/**
 * Find the value (the OCTET STRING contents) of the certificate extension `oid`.
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
 * TBSCertificate has the extensions in the context-specific [3] field.
 */
export function findCertificateExtension(certDer: Uint8Array, oid: string): DerNode | null {
  const cert = readNode(certDer, 0)
  if (!cert || !isUniversal(cert, UNIVERSAL.SEQUENCE)) return null
  const tbs = children(cert)[0]
  if (!tbs || !isUniversal(tbs, UNIVERSAL.SEQUENCE)) return null
  const extsWrapper = children(tbs).find((c) => c.cls === 2 && c.tag === 3)
  if (!extsWrapper) return null
  const exts = children(extsWrapper)[0]
  if (!exts) return null
  for (const ext of children(exts)) {
    const parts = children(ext)
    if (parts.length < 2) continue
    if (decodeOid(parts[0]!) !== oid) continue
    const value = parts[parts.length - 1]!
    if (!isUniversal(value, UNIVERSAL.OCTET_STRING)) return null
    return readNode(value.buf, value.start, value.end)
  }
  return null
}
