/**
 * The HTCondor job event log (the submit file's `log = <run>/condor.log`): parsing and reduction
 * to a per-job state. Two formats:
 *
 *  - the classic text format (the default): every event is
 *      `NNN (cluster.proc.subproc) <date> <time> <text>` + body lines + a `...` line.
 *    The date is `MM/DD HH:MM:SS` (before 8.9 / LEGACY) or `YYYY-MM-DD HH:MM:SS` (ISO_DATE, the
 *    default since), optionally with `.mmm` (SUB_SECOND) and `Z` (UTC). Bodies follow
 *    condor_event.cpp's formatBody() (see eventlog.format.test.ts for quoted samples);
 *  - the JSON format (`DEFAULT_USERLOG_FORMAT_OPTIONS = JSON`): every event is a JSON ClassAd
 *    (`EventTypeNumber`, `Cluster`, `Proc`, `EventTime`, `HoldReason`, `ReturnValue`, ...)
 *    followed by a newline, no `...` separator.
 *
 * Reading is incremental: `parseEventLog` returns how many bytes it consumed (complete events
 * only), so a poll reads the file from that offset next time. Unknown event numbers and damaged
 * events are skipped, never fatal.
 */
import { bool, num, parseJsonObjectStream, scanOutsideStrings, str, type ClassAd } from './parse.ts'

/** ULOG event numbers (condor_event.cpp ULogEventNumberNames; job-event-log-codes.rst) */
export const EVENT_NAMES: Record<number, string> = {
  0: 'SUBMIT',
  1: 'EXECUTE',
  2: 'EXECUTABLE_ERROR',
  3: 'CHECKPOINTED',
  4: 'JOB_EVICTED',
  5: 'JOB_TERMINATED',
  6: 'IMAGE_SIZE',
  7: 'SHADOW_EXCEPTION',
  8: 'GENERIC',
  9: 'JOB_ABORTED',
  10: 'JOB_SUSPENDED',
  11: 'JOB_UNSUSPENDED',
  12: 'JOB_HELD',
  13: 'JOB_RELEASED',
  14: 'NODE_EXECUTE',
  15: 'NODE_TERMINATED',
  16: 'POST_SCRIPT_TERMINATED',
  21: 'REMOTE_ERROR',
  22: 'JOB_DISCONNECTED',
  23: 'JOB_RECONNECTED',
  24: 'JOB_RECONNECT_FAILED',
  27: 'GRID_SUBMIT',
  28: 'JOB_AD_INFORMATION',
  29: 'JOB_STATUS_UNKNOWN',
  30: 'JOB_STATUS_KNOWN',
  33: 'ATTRIBUTE_UPDATE',
  35: 'CLUSTER_SUBMIT',
  36: 'CLUSTER_REMOVE',
  40: 'FILE_TRANSFER',
}

export interface ResourceUsage {
  usage: string | null
  request: string | null
  allocated: string | null
}

export interface CondorEvent {
  code: number
  name: string
  cluster: number
  proc: number
  subproc: number
  /** `cluster.proc` */
  jobId: string
  time: Date | null
  /** the first line's text after the timestamp (`Job was held.`) */
  text: string
  /** the body lines, trimmed */
  body: string[]
  // decoded, per event type
  host?: string | null
  submitHost?: string | null
  normal?: boolean
  returnValue?: number | null
  signal?: number | null
  coreFile?: string | null
  reason?: string | null
  code1?: number | null
  subcode?: number | null
  requeued?: boolean
  checkpointed?: boolean
  memoryMb?: number | null
  imageSizeKb?: number | null
  resources?: Record<string, ResourceUsage>
}

// ---------------------------------------------------------------- classic text

const HEADER =
  /^(\d{3}) \((-?\d+)\.(-?\d+)\.(-?\d+)\) (\d{2}\/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?) ?(.*)$/

/** parse an event timestamp; legacy `MM/DD` dates take `refYear` (HTCondor does the same) */
export function parseEventTime(s: string, refYear = new Date().getFullYear()): Date | null {
  let m = /^(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(s)
  if (m) {
    const ms = m[6] ? Number(m[6].padEnd(3, '0').slice(0, 3)) : 0
    const d = new Date(refYear, Number(m[1]) - 1, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), ms)
    return Number.isNaN(d.getTime()) ? null : d
  }
  m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(s)
  if (!m) return null
  const ms = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (!m[8]) return new Date(y, mo - 1, d, h, mi, se, ms)
  const utc = Date.UTC(y, mo - 1, d, h, mi, se, ms)
  if (m[8] === 'Z') return new Date(utc)
  const sign = m[8][0] === '-' ? -1 : 1
  const [oh, om] = m[8]
    .slice(1)
    .replace(':', '')
    .match(/^(\d{2})(\d{2})$/)!
    .slice(1)
    .map(Number) as [number, number]
  return new Date(utc - sign * (oh * 60 + om) * 60_000)
}

/** `<128.105.15.5:43051?addrs=...&alias=e2016.chtc.wisc.edu&...>` -> `e2016.chtc.wisc.edu`, else the address */
export function hostFromSinful(s: string): string {
  const t = s.trim()
  const alias = /[?&]alias=([^&>]+)/.exec(t)
  if (alias) return alias[1]!
  const ip = /^<([^:?>]+)(?::\d+)?/.exec(t)
  return ip ? ip[1]! : t
}

function parseUsageTable(lines: string[], ev: CondorEvent): void {
  const i = lines.findIndex((l) => /^(Partitionable )?Resources\s*:/.test(l))
  if (i < 0) return
  const res: Record<string, ResourceUsage> = {}
  for (const l of lines.slice(i + 1)) {
    const m = /^([A-Za-z][A-Za-z ()]*?)\s*:\s*(.*)$/.exec(l)
    if (!m) break
    const cols = m[2]!.trim().split(/\s+/).filter(Boolean)
    // columns are right-aligned: Usage Request Allocated [Assigned]; an empty Usage cell shifts them
    const label = m[1]!.replace(/\s*\((MB|KB|Average|s)\)$/, '').trim()
    if (cols.length >= 3) res[label] = { usage: cols[0]!, request: cols[1]!, allocated: cols[2]! }
    else if (cols.length === 2) res[label] = { usage: null, request: cols[0]!, allocated: cols[1]! }
    else if (cols.length === 1) res[label] = { usage: null, request: cols[0]!, allocated: null }
  }
  ev.resources = res
  const mem = res.Memory
  if (mem?.usage && /^\d+(\.\d+)?$/.test(mem.usage)) ev.memoryMb = Number(mem.usage)
}

function termination(lines: string[], ev: CondorEvent): void {
  for (const l of lines) {
    let m = /^\((\d)\) Normal termination \(return value (-?\d+)\)/.exec(l)
    if (m) {
      ev.normal = true
      ev.returnValue = Number(m[2])
      ev.signal = null
      return
    }
    m = /^\((\d)\) Abnormal termination \(signal (\d+)\)/.exec(l)
    if (m) {
      ev.normal = false
      ev.signal = Number(m[2])
      ev.returnValue = null
      const core = lines.find((x) => /^\(1\) Corefile in: /.test(x))
      ev.coreFile = core ? core.replace(/^\(1\) Corefile in: /, '') : null
      return
    }
  }
}

/** fill the decoded fields of an event from its text and body */
function decode(ev: CondorEvent): void {
  const b = ev.body
  switch (ev.code) {
    case 0: {
      const m = /^Job submitted from host: (.*)$/.exec(ev.text)
      ev.submitHost = m ? m[1]!.trim() || null : null
      break
    }
    case 1: {
      const m = /^Job executing on host: (.*)$/.exec(ev.text)
      const slot = b.find((l) => l.startsWith('SlotName:'))
      ev.host = slot ? slot.replace(/^SlotName:\s*/, '').replace(/^"|"$/g, '') : m ? hostFromSinful(m[1]!) : null
      break
    }
    case 4: {
      const m = /Code (-?\d+) Subcode (-?\d+)/.exec(ev.text)
      ev.code1 = m ? Number(m[1]) : null
      ev.subcode = m ? Number(m[2]) : null
      ev.requeued = b.some((l) => /Job terminated and was requeued/.test(l))
      ev.checkpointed = b.some((l) => /^\(1\) Job was checkpointed/.test(l))
      if (ev.requeued) termination(b, ev)
      const r = b.find((l) => l.startsWith('Reason: '))
      if (r) ev.reason = r.slice('Reason: '.length)
      else if (ev.requeued) {
        // terminate_and_requeued writes the reason without the prefix, after the termination lines
        let idx = -1
        b.forEach((l, i) => {
          if (/Normal termination|No core file|Corefile in:/.test(l)) idx = i
        })
        const cand = idx >= 0 ? b[idx + 1] : undefined
        ev.reason = cand && !/^(Partitionable )?Resources\s*:/.test(cand) ? cand : null
      } else ev.reason = null
      parseUsageTable(b, ev)
      break
    }
    case 5:
      termination(b, ev)
      parseUsageTable(b, ev)
      break
    case 6: {
      const m = /^Image size of job updated: (-?\d+)/.exec(ev.text)
      ev.imageSizeKb = m ? Number(m[1]) : null
      const mem = b.find((l) => /MemoryUsage of job \(MB\)/.test(l))
      ev.memoryMb = mem ? Number(/^(-?\d+)/.exec(mem)?.[1] ?? NaN) : null
      if (ev.memoryMb !== null && Number.isNaN(ev.memoryMb)) ev.memoryMb = null
      break
    }
    case 7:
      ev.reason = b[0] ?? null
      break
    case 9:
      // "Job was aborted." (since 8.9) or "Job was aborted by the user." (older), reason on the next line
      ev.reason = b.find((l) => !/^Job terminated by/.test(l)) ?? null
      break
    case 12: {
      const codeLine = b.find((l) => /^Code -?\d+ Subcode -?\d+/.test(l))
      const m = codeLine ? /^Code (-?\d+) Subcode (-?\d+)/.exec(codeLine) : null
      ev.code1 = m ? Number(m[1]) : null
      ev.subcode = m ? Number(m[2]) : null
      const r = b.find((l) => l !== codeLine)
      ev.reason = r && r !== 'Reason unspecified' ? r : null
      break
    }
    case 13:
      ev.reason = b[0] ?? null
      break
    case 21: {
      const codeLine = b.find((l) => /^Code -?\d+ Subcode -?\d+/.test(l))
      ev.reason = [ev.text, ...b.filter((l) => l !== codeLine)].join(' ').trim()
      break
    }
    case 22:
    case 24:
      ev.reason = b.join(' ').trim() || null
      break
    default:
      break
  }
}

export interface EventLogChunk {
  events: CondorEvent[]
  /** bytes of the input that hold complete events (read on from there next time) */
  consumed: number
  format: 'text' | 'json' | 'empty'
}

/** parse the classic text format; incomplete trailing events are left unconsumed */
export function parseTextEventLog(text: string, refYear?: number): EventLogChunk {
  const events: CondorEvent[] = []
  let consumed = 0
  let pos = 0
  let cur: CondorEvent | null = null
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos)
    if (nl < 0) break // a partial line: wait for the rest
    const raw = text.slice(pos, nl).replace(/\r$/, '')
    pos = nl + 1
    if (/^\.\.\.\s*$/.test(raw)) {
      if (cur) {
        decode(cur)
        events.push(cur)
        cur = null
      }
      consumed = pos
      continue
    }
    const h = HEADER.exec(raw)
    if (h) {
      if (cur) {
        // a header before the previous event's "...": close it (damaged log)
        decode(cur)
        events.push(cur)
      }
      const code = Number(h[1])
      cur = {
        code,
        name: EVENT_NAMES[code] ?? `EVENT_${h[1]}`,
        cluster: Number(h[2]),
        proc: Number(h[3]),
        subproc: Number(h[4]),
        jobId: `${Number(h[2])}.${Number(h[3])}`,
        time: parseEventTime(h[5]!, refYear),
        text: h[6]!.trim(),
        body: [],
      }
      continue
    }
    if (cur) cur.body.push(raw.trim())
    else consumed = pos // junk between events
  }
  return { events, consumed, format: 'text' }
}

/** parse the JSON event log format (one JSON ClassAd per event) */
export function parseJsonEventLog(text: string): EventLogChunk {
  // consume up to the end of the last complete top-level object
  let depth = 0
  let lastEnd = 0
  scanOutsideStrings(text, (c, i) => {
    if (c === '{') depth++
    else if (c === '}' && --depth === 0) {
      lastEnd = i + 1
      if (text[lastEnd] === '\n') lastEnd++
    }
    return undefined
  })
  const ads = parseJsonObjectStream(text.slice(0, lastEnd))
  return {
    events: ads.map(eventFromAd).filter((e): e is CondorEvent => e !== null),
    consumed: Buffer.byteLength(text.slice(0, lastEnd)),
    format: 'json',
  }
}

/** a JSON event ClassAd (condor_event.cpp toClassAd) -> CondorEvent */
export function eventFromAd(ad: ClassAd): CondorEvent | null {
  const code = num(ad.EventTypeNumber)
  const cluster = num(ad.Cluster)
  const proc = num(ad.Proc)
  if (code === null || cluster === null || proc === null) return null
  const ev: CondorEvent = {
    code,
    name: EVENT_NAMES[code] ?? `EVENT_${String(code).padStart(3, '0')}`,
    cluster,
    proc,
    subproc: num(ad.Subproc) ?? 0,
    jobId: `${cluster}.${proc}`,
    time: typeof ad.EventTime === 'string' ? parseEventTime(ad.EventTime.replace('T', ' ')) : null,
    text: str(ad.MyType) ?? '',
    body: [],
  }
  switch (code) {
    case 0:
      ev.submitHost = str(ad.SubmitHost)
      break
    case 1:
      ev.host = str(ad.SlotName) ?? (str(ad.ExecuteHost) ? hostFromSinful(str(ad.ExecuteHost)!) : null)
      break
    case 4:
    case 5: {
      ev.normal = bool(ad.TerminatedNormally) ?? undefined
      ev.returnValue = num(ad.ReturnValue)
      ev.signal = num(ad.TerminatedBySignal)
      ev.coreFile = str(ad.CoreFile)
      ev.reason = str(ad.Reason)
      if (code === 4) {
        ev.requeued = bool(ad.TerminatedAndRequeued) ?? false
        ev.checkpointed = bool(ad.Checkpointed) ?? false
        ev.code1 = num(ad.ReasonCode)
        ev.subcode = num(ad.ReasonSubCode)
      }
      if (ev.normal === false && ev.signal === null) ev.signal = null
      const mem = num(ad.MemoryUsage)
      if (mem !== null) ev.memoryMb = mem
      break
    }
    case 6:
      ev.imageSizeKb = num(ad.Size)
      ev.memoryMb = num(ad.MemoryUsage)
      break
    case 7:
      ev.reason = str(ad.Message)
      break
    case 9:
    case 13:
      ev.reason = str(ad.Reason)
      break
    case 12:
      ev.reason = str(ad.HoldReason)
      ev.code1 = num(ad.HoldReasonCode)
      ev.subcode = num(ad.HoldReasonSubCode)
      break
    case 21:
      ev.reason = str(ad.ErrorMsg)
      break
    case 22:
    case 24:
      ev.reason = str(ad.Reason)
      break
    default:
      break
  }
  return ev
}

/** parse whatever format the log is in (text when it starts with a 3-digit event number) */
export function parseEventLog(text: string, refYear?: number): EventLogChunk {
  const t = text.trimStart()
  if (t === '') return { events: [], consumed: 0, format: 'empty' }
  if (t.startsWith('{')) return parseJsonEventLog(text)
  if (t.startsWith('<')) {
    // XML (log_xml = True) is not produced by Control Room's submit files
    return { events: [], consumed: 0, format: 'empty' }
  }
  const r = parseTextEventLog(text, refYear)
  return { ...r, consumed: Buffer.byteLength(text.slice(0, r.consumed)) }
}

// ---------------------------------------------------------------- reduction

export type EventStatus = 'idle' | 'running' | 'held' | 'suspended' | 'completed' | 'removed'

export interface EventJobState {
  jobId: string
  cluster: number
  proc: number
  status: EventStatus
  submittedAt: Date | null
  startedAt: Date | null
  endedAt: Date | null
  host: string | null
  /** execute events seen (NumJobStarts) */
  starts: number
  evictions: number
  exitCode: number | null
  signal: number | null
  holdReason: string | null
  holdCode: number | null
  holdSubcode: number | null
  /** why the job was removed / evicted / released / disconnected: the latest note */
  note: string | null
  memoryMb: number | null
  lastEvent: string
  lastEventAt: Date | null
}

function blank(ev: CondorEvent): EventJobState {
  return {
    jobId: ev.jobId,
    cluster: ev.cluster,
    proc: ev.proc,
    status: 'idle',
    submittedAt: null,
    startedAt: null,
    endedAt: null,
    host: null,
    starts: 0,
    evictions: 0,
    exitCode: null,
    signal: null,
    holdReason: null,
    holdCode: null,
    holdSubcode: null,
    note: null,
    memoryMb: null,
    lastEvent: ev.name,
    lastEventAt: ev.time,
  }
}

/** fold events into per-job states (updating `into` in place when given) */
export function reduceEvents(
  events: CondorEvent[],
  into: Map<string, EventJobState> = new Map(),
): Map<string, EventJobState> {
  for (const ev of events) {
    if (ev.cluster < 0 || ev.proc < 0) continue // cluster-level events
    let s = into.get(ev.jobId)
    if (!s) {
      s = blank(ev)
      into.set(ev.jobId, s)
    }
    if (s.status === 'completed' || s.status === 'removed') continue // terminal
    s.lastEvent = ev.name
    s.lastEventAt = ev.time
    switch (ev.code) {
      case 0:
        s.submittedAt = ev.time
        s.status = 'idle'
        break
      case 1:
        s.status = 'running'
        s.starts++
        s.startedAt = ev.time
        s.host = ev.host ?? s.host
        s.note = null
        break
      case 2:
        s.note = `executable error: ${ev.text}`
        break
      case 4:
        s.status = 'idle'
        s.evictions++
        s.note = `evicted from ${s.host ?? 'its slot'}${ev.reason ? `: ${ev.reason}` : ''}; back in the queue`
        break
      case 5:
        s.status = 'completed'
        s.endedAt = ev.time
        s.exitCode = ev.normal === false ? null : (ev.returnValue ?? null)
        s.signal = ev.normal === false ? (ev.signal ?? null) : null
        if (ev.memoryMb != null) s.memoryMb = ev.memoryMb
        break
      case 6:
        if (ev.memoryMb != null) s.memoryMb = ev.memoryMb
        break
      case 7:
        s.status = 'idle'
        s.note = `shadow exception${ev.reason ? `: ${ev.reason}` : ''}`
        break
      case 9:
        s.status = 'removed'
        s.endedAt = ev.time
        s.note = ev.reason ?? 'removed'
        break
      case 10:
        s.status = 'suspended'
        break
      case 11:
        s.status = 'running'
        break
      case 12:
        s.status = 'held'
        s.holdReason = ev.reason ?? null
        s.holdCode = ev.code1 ?? null
        s.holdSubcode = ev.subcode ?? null
        break
      case 13:
        s.status = 'idle'
        s.note = `released${ev.reason ? ` ${ev.reason}` : ''}`
        s.holdReason = null
        s.holdCode = null
        s.holdSubcode = null
        break
      case 21:
        s.note = ev.reason ?? null
        break
      case 22:
        s.note = `disconnected from ${s.host ?? 'the execute host'}; reconnecting`
        break
      case 23:
        s.note = null
        break
      case 24:
        s.status = 'idle'
        s.note = `reconnect to ${s.host ?? 'the execute host'} failed${ev.reason ? `: ${ev.reason}` : ''}; back in the queue`
        break
      default:
        break
    }
  }
  return into
}
