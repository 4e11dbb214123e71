#!/usr/bin/env node
/**
 * FORMAT-FAITHFUL SIMULATOR of the HTCondor command line tools, for tests only.
 *
 * HTCondor is not packaged for this machine, so the HTCondor driver is tested against this
 * stand-in. It is NOT HTCondor: there is no schedd, negotiator or startd. It answers with the
 * output formats HTCondor documents and prints (each quoted from its source in comments):
 *
 *   condor_submit -terse FILE   -> "<cluster>.<first> - <cluster>.<last>\n"            (condor_submit.cpp)
 *                                  errors as "\nERROR: ..." on stderr, exit 1
 *   condor_q -json ...          -> "[\n{...}\n,\n{...}\n]\n" ClassAd JSON, nothing when no match
 *   condor_history -json ...    -> same, newest first, -limit honoured
 *   condor_rm C.P ...           -> "Job C.P marked for removal" / "Job C.P not found"
 *   condor_version              -> "$CondorVersion: ... $" (marked FAKE)
 * and writes the job event log (`log =`) in the classic format of condor_event.cpp
 * (`NNN (cluster.proc.subproc) YYYY-MM-DD HH:MM:SS text` + body + "...") or, with
 * control.eventLogFormat = "json", one JSON ClassAd per event.
 *
 *   condor_status -json         -> the slots in control.slots (default: two partitionable slots)
 *
 * State lives in $FAKE_CONDOR_HOME (state.json, calls.jsonl, submits/, execute/). Jobs move when
 * a test calls the exported actions (start, complete, hold, release, evict, remove, forget), or,
 * with control.mode = "auto", on every condor_q call (Idle -> Running; a finished process ->
 * Completed). Starting a job runs its executable for real (unless control.execute === false or
 * start(..., {spawn: false})): a detached process group in a sandbox directory into which the
 * transfer_input_files and the x509userproxy were copied (like HTCondor's file transfer), with the
 * submit `environment`, _CONDOR_SCRATCH_DIR and X509_USER_PROXY set, stdout/stderr into the
 * submit file's output/error. condor_rm kills that process group.
 */
import { spawn, spawnSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const HOME = () => {
  const h = process.env.FAKE_CONDOR_HOME
  if (!h) throw new Error('FAKE_CONDOR_HOME is not set')
  return h
}
const p = (...x) => path.join(HOME(), ...x)
const SCHEDD = '<127.0.0.1:9618?addrs=127.0.0.1-9618&noUDP&sock=schedd_4242_f00d>'
const USER = () => process.env.USER || os.userInfo().username || 'alice'

// ---------------------------------------------------------------- state

function lock() {
  const dir = p('.lock')
  for (let i = 0; i < 2000; i++) {
    try {
      fs.mkdirSync(dir)
      return () => fs.rmSync(dir, { recursive: true, force: true })
    } catch {
      const t = Date.now() + 5
      while (Date.now() < t) {
        /* spin */
      }
    }
  }
  throw new Error('fake condor: state lock timeout')
}

export function control() {
  try {
    return JSON.parse(fs.readFileSync(p('control.json'), 'utf8'))
  } catch {
    return {}
  }
}

export function setControl(home, patch) {
  const file = path.join(home, 'control.json')
  let cur = {}
  try {
    cur = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {}
  fs.writeFileSync(file, JSON.stringify({ ...cur, ...patch }, null, 2))
}

function load() {
  try {
    return JSON.parse(fs.readFileSync(p('state.json'), 'utf8'))
  } catch {
    return { nextCluster: control().firstCluster ?? 101, queue: [], history: [] }
  }
}

function save(st) {
  fs.writeFileSync(p('state.json.tmp'), JSON.stringify(st, null, 1))
  fs.renameSync(p('state.json.tmp'), p('state.json'))
}

function withState(fn) {
  const unlock = lock()
  try {
    const st = load()
    const r = fn(st)
    save(st)
    return r
  } finally {
    unlock()
  }
}

// ---------------------------------------------------------------- event log (condor_event.cpp formats)

const pad = (n, w = 2) => String(n).padStart(w, '0')

function stamp(d, legacy) {
  // ULogEvent::formatHeader: "%03d (%03d.%03d.%03d) " then ISO_DATE "%04d-%02d-%02d %02d:%02d:%02d" (default) or "%02d/%02d %02d:%02d:%02d" (LEGACY)
  return legacy
    ? `${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

const RUSAGE = '\tUsr 0 00:00:00, Sys 0 00:00:00'

function usageTable(job) {
  // formatUsageAd: "\tPartitionable Resources : %*s %*s %*s\n" then "\t   %-*s : %*s %*s %*s\n"
  const mem = job.ad.RequestMemory ?? 128
  const disk = job.ad.RequestDisk ?? 1024
  const cpus = job.ad.RequestCpus ?? 1
  const rows = [
    ['Cpus', '', String(cpus), String(cpus)],
    ['Disk (KB)', '25', String(disk), String(disk * 4)],
    ['Memory (MB)', '3', String(mem), String(mem)],
  ]
  if ((job.ad.RequestGpus ?? 0) > 0)
    rows.splice(2, 0, ['Gpus (Average)', '0', String(job.ad.RequestGpus), String(job.ad.RequestGpus)])
  let s = `\tPartitionable Resources :    Usage  Request Allocated\n`
  for (const [label, use, req, alloc] of rows)
    s += `\t   ${label.padEnd(20)} : ${use.padStart(8)} ${req.padStart(8)} ${alloc.padStart(9)}\n`
  return s
}

function body(code, job, extra) {
  switch (code) {
    case 0:
      return `Job submitted from host: ${SCHEDD}\n`
    case 1:
      return (
        `Job executing on host: <10.0.0.7:9618?addrs=10.0.0.7-9618&alias=${extra.hostname}&noUDP&sock=startd_1_1>\n` +
        `\tSlotName: ${extra.slot}\n` +
        `\tCondorScratchDir = "${extra.scratch}"\n\tCpus = ${job.ad.RequestCpus ?? 1}\n\tDisk = ${job.ad.RequestDisk ?? 1024}\n\tGPUs = ${job.ad.RequestGpus ?? 0}\n\tMemory = ${job.ad.RequestMemory ?? 128}\n`
      )
    case 4:
      return (
        (extra.code
          ? `Job was evicted. Code ${extra.code} Subcode ${extra.subcode ?? 0}\n\t`
          : 'Job was evicted.\n\t') +
        '(0) CPU times\n\t' +
        `${RUSAGE}  -  Run Remote Usage\n\t${RUSAGE}  -  Run Local Usage\n` +
        '\t0  -  Run Bytes Sent By Job\n\t0  -  Run Bytes Received By Job\n' +
        (extra.reason ? `\tReason: ${extra.reason}\n` : '')
      )
    case 5:
      return (
        'Job terminated.\n' +
        (extra.signal != null
          ? `\t(0) Abnormal termination (signal ${extra.signal})\n\t(0) No core file\n\t`
          : `\t(1) Normal termination (return value ${extra.exitCode})\n\t`) +
        `${RUSAGE}  -  Run Remote Usage\n\t${RUSAGE}  -  Run Local Usage\n\t${RUSAGE}  -  Total Remote Usage\n\t${RUSAGE}  -  Total Local Usage\n` +
        '\t23  -  Run Bytes Sent By Job\n\t113  -  Run Bytes Received By Job\n\t23  -  Total Bytes Sent By Job\n\t113  -  Total Bytes Received By Job\n' +
        usageTable(job)
      )
    case 6:
      return `Image size of job updated: 1\n\t3  -  MemoryUsage of job (MB)\n\t2464  -  ResidentSetSize of job (KB)\n`
    case 9:
      return `Job was aborted.\n\t${extra.reason}\n`
    case 12:
      return `Job was held.\n\t${extra.reason || 'Reason unspecified'}\n\tCode ${extra.code ?? 0} Subcode ${extra.subcode ?? 0}\n`
    case 13:
      return `Job was released.\n\t${extra.reason}\n`
    default:
      throw new Error(`fake condor: no format for event ${code}`)
  }
}

const MYTYPE = {
  0: 'SubmitEvent',
  1: 'ExecuteEvent',
  4: 'JobEvictedEvent',
  5: 'JobTerminatedEvent',
  6: 'JobImageSizeEvent',
  9: 'JobAbortedEvent',
  12: 'JobHeldEvent',
  13: 'JobReleaseEvent',
}

function jsonEvent(code, job, extra, d) {
  // ULogEvent::toClassAd + per-event attributes, unparsed by ClassAdJsonUnParser, then "\n"
  const ad = {
    MyType: MYTYPE[code],
    EventTypeNumber: code,
    EventTime: d.toISOString().slice(0, 19),
    Cluster: job.cluster,
    Proc: job.proc,
    Subproc: 0,
  }
  if (code === 0) ad.SubmitHost = SCHEDD
  if (code === 1)
    Object.assign(ad, {
      ExecuteHost: `<10.0.0.7:9618?addrs=10.0.0.7-9618&alias=${extra.hostname}>`,
      SlotName: extra.slot,
    })
  if (code === 5)
    Object.assign(ad, {
      TerminatedNormally: extra.signal == null,
      ...(extra.signal == null ? { ReturnValue: extra.exitCode } : { TerminatedBySignal: extra.signal }),
    })
  if (code === 4)
    Object.assign(ad, {
      Checkpointed: false,
      TerminatedAndRequeued: false,
      TerminatedNormally: false,
      ...(extra.reason ? { Reason: extra.reason } : {}),
    })
  if (code === 9 || code === 13) ad.Reason = extra.reason
  if (code === 12)
    Object.assign(ad, {
      HoldReason: extra.reason,
      HoldReasonCode: extra.code ?? 0,
      HoldReasonSubCode: extra.subcode ?? 0,
    })
  const lines = Object.entries(ad).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
  return `{\n${lines.join(',\n')}\n}\n`
}

function writeEvent(job, code, extra = {}) {
  const file = job.log
  if (!file) return
  const d = new Date()
  const c = control()
  const text =
    c.eventLogFormat === 'json'
      ? jsonEvent(code, job, extra, d)
      : `${pad(code, 3)} (${pad(job.cluster, 3)}.${pad(job.proc, 3)}.000) ${stamp(d, c.eventLogFormat === 'legacy')} ${body(code, job, extra)}...\n`
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.appendFileSync(file, text)
}

// ---------------------------------------------------------------- submit description parsing

function parseSubmit(text) {
  const cmds = {}
  let queue = null
  const lines = text.replace(/\\\n/g, ' ').split('\n')
  for (const raw of lines) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const q = /^queue(?:\s+(\d+))?\s*$/i.exec(line)
    if (q) {
      queue = q[1] ? Number(q[1]) : 1
      continue
    }
    const m = /^([^=\s]+)\s*=\s*(.*)$/.exec(line)
    if (!m) return { error: `on Line ${lines.indexOf(raw) + 1} of submit file: syntax error in submit file` }
    cmds[m[1].toLowerCase()] = { name: m[1], value: m[2].trim() }
  }
  return { cmds, queue }
}

/** new-syntax "..." lists (arguments, environment): blanks separate, '...' protects, "" and '' escape */
export function splitNewSyntax(v) {
  let s = v.trim()
  if (!(s.startsWith('"') && s.endsWith('"'))) return s.split(/\s+/).filter(Boolean)
  s = s.slice(1, -1).replace(/""/g, '"')
  const out = []
  let cur = ''
  let inQ = false
  let any = false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (inQ) {
      if (c === "'" && s[i + 1] === "'") {
        cur += "'"
        i++
      } else if (c === "'") inQ = false
      else cur += c
    } else if (c === "'") {
      inQ = true
      any = true
    } else if (/\s/.test(c)) {
      if (cur || any) out.push(cur)
      cur = ''
      any = false
    } else cur += c
  }
  if (cur || any) out.push(cur)
  return out
}

function macro(v, job) {
  return v
    .replace(/\$\((ClusterId|Cluster)\)/g, String(job.cluster))
    .replace(/\$\((ProcId|Process)\)/g, String(job.proc))
}

function fail(msg) {
  process.stderr.write(`\n${msg}\n`)
  process.exit(1)
}

function absFrom(dir, f) {
  return path.isAbsolute(f) ? f : path.join(dir, f)
}

function condorSubmit(args, cwd) {
  const c = control()
  if (c.submitError) {
    process.stdout.write(c.submitError.stdout ?? '')
    process.stderr.write(c.submitError.stderr ?? '')
    process.exit(c.submitError.code ?? 1)
  }
  let terse = false
  let file = null
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '-terse') terse = true
    else if (a === '-name' || a === '-pool' || a === '-batch-name') i++
    else if (!a.startsWith('-')) file = a
  }
  if (!file) fail('ERROR: no submit description file given (the fake condor_submit does not read stdin)')
  const full = absFrom(cwd, file)
  if (!fs.existsSync(full)) fail(`ERROR: Can't open "${full}"  with flags 00 (No such file or directory)`)
  const text = fs.readFileSync(full, 'utf8')
  const parsed = parseSubmit(text)
  if (parsed.error) fail(`ERROR: ${parsed.error}`)
  const { cmds, queue } = parsed
  if (queue === null) fail('ERROR: on Line 0 of submit file: no queue statement')
  const get = (k) => cmds[k]?.value
  const initialdir = get('initialdir') ? absFrom(cwd, get('initialdir')) : cwd
  const exe = get('executable')
  if (!exe) fail("ERROR: No 'executable' parameter was provided")
  const exePath = absFrom(initialdir, exe)
  // condor_submit.cpp: "\nERROR: Executable file %s does not exist\n"
  if (!fs.existsSync(exePath)) fail(`ERROR: Executable file ${exePath} does not exist`)
  for (const f of (get('transfer_input_files') ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    if (!fs.existsSync(absFrom(initialdir, f)))
      fail(`ERROR: Can't open "${absFrom(initialdir, f)}"  with flags 00 (No such file or directory)`)
  }
  const proxy = get('x509userproxy')
  if (proxy) {
    const pp = absFrom(initialdir, proxy)
    if (!fs.existsSync(pp)) fail(`ERROR: could not read the X509 proxy ${pp} (No such file or directory)`)
    try {
      const pem = fs.readFileSync(pp, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)?.[0]
      // submit_utils.cpp: push_error(stderr, "proxy has expired\n")
      if (pem && new Date(new X509Certificate(pem).validTo) < new Date()) fail('ERROR: proxy has expired')
    } catch {
      // not a certificate we can read: condor_submit would complain later; the fake lets it pass
    }
  }
  for (const k of ['requirements']) {
    const v = get(k)
    if (v && (v.split('(').length !== v.split(')').length || (v.match(/"/g) ?? []).length % 2))
      fail(`ERROR: on Line 0 of submit file: Parse error in expression: ${v}`)
  }
  const req = (k) => (get(k) !== undefined ? Number(get(k)) : undefined)
  const { cluster, jobs } = withState((st) => {
    const cluster = st.nextCluster++
    const jobs = []
    for (let proc = 0; proc < queue; proc++) {
      const job = {
        cluster,
        proc,
        log: get('log') ? absFrom(initialdir, get('log')) : null,
        submitFile: full,
        initialdir,
        executable: exePath,
        arguments: get('arguments') ?? '',
        output: get('output') ? absFrom(initialdir, macro(get('output'), { cluster, proc })) : null,
        error: get('error') ? absFrom(initialdir, macro(get('error'), { cluster, proc })) : null,
        environment: get('environment') ?? null,
        transferInputFiles: (get('transfer_input_files') ?? '')
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
          .map((f) => absFrom(initialdir, f)),
        shouldTransfer: (get('should_transfer_files') ?? 'IF_NEEDED').toUpperCase(),
        x509userproxy: proxy ? absFrom(initialdir, proxy) : null,
        submitted: Date.now(),
        ad: {
          ClusterId: cluster,
          ProcId: proc,
          JobStatus: 1,
          NumJobStarts: 0,
          Owner: USER(),
          Cmd: exePath,
          QDate: Math.floor(Date.now() / 1000),
          EnteredCurrentStatus: Math.floor(Date.now() / 1000),
          JobBatchName: get('batch_name') ?? null,
          RequestCpus: req('request_cpus') ?? 1,
          RequestMemory: req('request_memory') ?? 128,
          RequestDisk: req('request_disk') ?? 1024,
          ...(get('request_gpus') !== undefined ? { RequestGpus: req('request_gpus') } : {}),
          Requirements: get('requirements') ? `/Expr(${get('requirements')})/` : '/Expr(true)/',
          ...(cmds['+jobflavour'] ? { JobFlavour: JSON.parse(cmds['+jobflavour'].value) } : {}),
          ...(get('accounting_group') ? { AcctGroup: get('accounting_group') } : {}),
          ...(proxy ? { x509userproxy: absFrom(initialdir, proxy) } : {}),
        },
      }
      for (const [k, v] of Object.entries(cmds)) {
        if (k.startsWith('my.'))
          job.ad[v.name.slice(3)] = /^".*"$/.test(v.value)
            ? JSON.parse(v.value)
            : Number.isFinite(Number(v.value))
              ? Number(v.value)
              : v.value
      }
      st.queue.push(job)
      jobs.push(job)
    }
    return { cluster, jobs }
  })
  fs.mkdirSync(p('submits'), { recursive: true })
  fs.copyFileSync(full, p('submits', `${cluster}.sub`))
  for (const j of jobs) writeEvent(j, 0)
  if (terse) process.stdout.write(`${cluster}.0 - ${cluster}.${queue - 1}\n`)
  else process.stdout.write(`Submitting job(s)${'.'.repeat(queue)}\n${queue} job(s) submitted to cluster ${cluster}.\n`)
}

// ---------------------------------------------------------------- queries

function parseQueryArgs(args) {
  const o = { json: false, attrs: null, constraint: null, limit: null, ids: [] }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '-json') o.json = true
    else if (a === '-attributes' || a === '-af') o.attrs = args[++i].split(',')
    else if (a === '-constraint') o.constraint = args[++i]
    else if (a === '-limit' || a === '-match') o.limit = Number(args[++i])
    else if (a === '-name' || a === '-pool') i++
    else if (/^\d+(\.\d+)?$/.test(a)) o.ids.push(a)
  }
  return o
}

function matches(job, o) {
  if (o.constraint) {
    // the subset of ClassAd syntax the driver uses: ClusterId == N and (ClusterId >= A && ClusterId <= B), joined by ||
    const clusters = [...o.constraint.matchAll(/ClusterId\s*==\s*(\d+)/g)].map((m) => Number(m[1]))
    const ranges = [...o.constraint.matchAll(/ClusterId\s*>=\s*(\d+)\s*&&\s*ClusterId\s*<=\s*(\d+)/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ])
    if (
      (clusters.length || ranges.length) &&
      !clusters.includes(job.cluster) &&
      !ranges.some(([a, b]) => job.cluster >= a && job.cluster <= b)
    )
      return false
  }
  if (o.ids.length)
    return o.ids.some((id) => (id.includes('.') ? id === `${job.cluster}.${job.proc}` : Number(id) === job.cluster))
  return true
}

/** condor_q / condor_history -json layout: "[\n" + ads joined by "\n,\n" + "\n]\n" (printJSON / formatAd) */
function printJson(jobs, attrs) {
  if (!jobs.length) return // nothing matched: no output at all
  const ads = jobs.map((j) => {
    const keys = attrs ?? Object.keys(j.ad)
    // ClassAdJsonUnParser escapes the slashes of unevaluated expressions: "\/Expr(...)\/"
    const lit = (v) =>
      JSON.stringify(v)
        .replace(/^"\/Expr\(/, '"\\/Expr(')
        .replace(/\)\/"$/, ')\\/"')
    const lines = keys
      .filter((k) => k in j.ad && j.ad[k] !== null && j.ad[k] !== undefined)
      .map((k) => `  ${JSON.stringify(k)}: ${lit(j.ad[k])}`)
    return `{\n${lines.join(',\n')}\n}`
  })
  process.stdout.write(`[\n${ads.join('\n,\n')}\n]\n`)
}

function condorQ(args) {
  const o = parseQueryArgs(args)
  if (control().qError) fail(control().qError)
  if (control().mode === 'auto') autoStep()
  else withState(reap)
  const st = load()
  const jobs = st.queue.filter((j) => matches(j, o))
  if (o.json) printJson(jobs, o.attrs)
  else for (const j of jobs) process.stdout.write(`${j.cluster}.${j.proc} ${j.ad.JobStatus}\n`)
}

function condorHistory(args) {
  const o = parseQueryArgs(args)
  withState(reap)
  const st = load()
  let jobs = [...st.history].reverse().filter((j) => matches(j, o))
  if (o.limit) jobs = jobs.slice(0, o.limit)
  if (o.json) printJson(jobs, o.attrs)
}

const DEFAULT_SLOTS = [
  {
    Name: 'slot1@fake-ep1.example.org',
    Machine: 'fake-ep1.example.org',
    SlotType: 'Partitionable',
    PartitionableSlot: true,
    State: 'Unclaimed',
    Activity: 'Idle',
    Cpus: 8,
    Memory: 32768,
    Disk: 104857600,
    GPUs: 0,
    TotalSlotCpus: 8,
    TotalSlotMemory: 32768,
    TotalSlotDisk: 104857600,
    TotalSlotGPUs: 0,
  },
  {
    Name: 'slot1@fake-gpu1.example.org',
    Machine: 'fake-gpu1.example.org',
    SlotType: 'Partitionable',
    PartitionableSlot: true,
    State: 'Unclaimed',
    Activity: 'Idle',
    Cpus: 16,
    Memory: 131072,
    Disk: 209715200,
    GPUs: 2,
    TotalSlotCpus: 16,
    TotalSlotMemory: 131072,
    TotalSlotDisk: 209715200,
    TotalSlotGPUs: 2,
  },
]

function condorStatus(args) {
  const o = parseQueryArgs(args)
  const slots = control().slots ?? DEFAULT_SLOTS
  if (control().statusError) fail(control().statusError)
  printJson(
    slots.map((ad) => ({ ad })),
    o.attrs,
  )
}

function condorRm(args) {
  const ids = args.filter((a) => /^\d+(\.\d+)?$/.test(a))
  let bad = false
  for (const id of ids) {
    const ok = remove(HOME(), id, `via condor_rm (by user ${USER()})`)
    if (ok.length === 0) {
      process.stderr.write(`Job ${id} not found\n`)
      bad = true
    } else if (id.includes('.')) process.stdout.write(`Job ${id} marked for removal\n`)
    else process.stdout.write(`All jobs in cluster ${id} have been marked for removal\n`)
  }
  if (bad) process.exit(1)
}

// ---------------------------------------------------------------- actions (tests call these; auto mode too)

function findIn(st, id) {
  return st.queue.find((j) => `${j.cluster}.${j.proc}` === id)
}

function now() {
  return Math.floor(Date.now() / 1000)
}

function setStatus(job, s) {
  job.ad.LastJobStatus = job.ad.JobStatus
  job.ad.JobStatus = s
  job.ad.EnteredCurrentStatus = now()
}

function toHistory(st, job) {
  st.queue = st.queue.filter((j) => j !== job)
  st.history.push(job)
}

function withHome(home, fn) {
  const prev = process.env.FAKE_CONDOR_HOME
  process.env.FAKE_CONDOR_HOME = home
  try {
    return fn()
  } finally {
    if (prev === undefined) delete process.env.FAKE_CONDOR_HOME
    else process.env.FAKE_CONDOR_HOME = prev
  }
}

export function start(home, id, opts = {}) {
  return withHome(home, () =>
    withState((st) => {
      const job = findIn(st, id)
      if (job?.ad.JobStatus !== 1) return false
      const hostname = opts.hostname ?? 'fake-ep.example.org'
      const slot = opts.slot ?? `slot1_1@${hostname}`
      job.scratch = p('execute', `dir_${job.cluster}_${job.proc}_${job.ad.NumJobStarts}`)
      setStatus(job, 2)
      job.ad.NumJobStarts++
      job.ad.RemoteHost = slot
      job.ad.JobCurrentStartDate = now()
      job.ad.JobStartDate ??= now()
      writeEvent(job, 1, { hostname, slot, scratch: job.scratch })
      if (opts.spawn !== false && control().execute !== false) spawnJob(job)
      return true
    }),
  )
}

// runs the job and records how it ended (the fake startd/starter); its own process group
const WRAPPER = `
const { spawn } = require('child_process');
const fs = require('fs');
const [exe, exitFile, ...args] = process.argv.slice(1);
const c = spawn('bash', [exe, ...args], { stdio: 'inherit' });
const done = (r) => { fs.writeFileSync(exitFile + '.tmp', JSON.stringify(r)); fs.renameSync(exitFile + '.tmp', exitFile); process.exit(0); };
c.on('error', (e) => done({ code: 127, signal: null, error: String(e) }));
c.on('exit', (code, signal) => done({ code, signal }));
`

/** prepare the sandbox like HTCondor's file transfer and start the executable (detached) */
function spawnJob(job) {
  const sandbox = job.scratch
  fs.mkdirSync(sandbox, { recursive: true })
  const env = { PATH: process.env.PATH, HOME: sandbox, _CONDOR_SCRATCH_DIR: sandbox, TMPDIR: sandbox, LANG: 'C' }
  if (job.environment)
    for (const e of splitNewSyntax(job.environment)) {
      const i = e.indexOf('=')
      if (i > 0) env[e.slice(0, i)] = e.slice(i + 1)
    }
  const transfer = job.shouldTransfer !== 'NO'
  let exe = job.executable
  if (transfer) {
    for (const f of job.transferInputFiles) fs.copyFileSync(f, path.join(sandbox, path.basename(f)))
    exe = path.join(sandbox, 'condor_exec.exe')
    fs.copyFileSync(job.executable, exe)
    fs.chmodSync(exe, 0o755)
  }
  if (job.x509userproxy) {
    const dest = transfer ? path.join(sandbox, path.basename(job.x509userproxy)) : job.x509userproxy
    if (transfer) {
      fs.copyFileSync(job.x509userproxy, dest)
      fs.chmodSync(dest, 0o600)
    }
    env.X509_USER_PROXY = dest
  }
  const open = (f) => {
    if (!f) return 'ignore'
    fs.mkdirSync(path.dirname(f), { recursive: true })
    return fs.openSync(f, 'w')
  }
  const out = open(job.output)
  const err = open(job.error)
  job.exitFile = path.join(sandbox, '.fake-condor-exit.json')
  const args = splitNewSyntax(macro(job.arguments, job))
  const child = spawn(process.execPath, ['-e', WRAPPER, exe, job.exitFile, ...args], {
    cwd: transfer ? sandbox : job.initialdir,
    env,
    detached: true,
    stdio: ['ignore', out, err],
  })
  child.unref()
  job.pid = child.pid
  for (const fd of [out, err]) if (typeof fd === 'number') fs.closeSync(fd)
}

const SIGNUM = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 }

function finish(st, job, r) {
  writeEvent(job, 6)
  setStatus(job, 4)
  job.ad.CompletionDate = now()
  job.ad.ExitBySignal = r.signal != null
  if (r.signal != null) job.ad.ExitSignal = r.signal
  else job.ad.ExitCode = r.exitCode
  delete job.ad.RemoteHost
  writeEvent(job, 5, r)
  toHistory(st, job)
}

/** jobs whose process ended: Completed (the shadow notices the starter's exit) */
function reap(st) {
  for (const job of [...st.queue]) {
    if (job.ad.JobStatus !== 2 || !job.exitFile || !fs.existsSync(job.exitFile)) continue
    const r = JSON.parse(fs.readFileSync(job.exitFile, 'utf8'))
    finish(
      st,
      job,
      r.signal ? { exitCode: null, signal: SIGNUM[r.signal] ?? 9 } : { exitCode: r.code ?? 1, signal: null },
    )
  }
}

/** every process below `root` (HTCondor tracks a job's whole process tree, also children that left its group) */
function descendants(root) {
  const ps = spawnSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' }).stdout ?? ''
  const kids = new Map()
  for (const line of ps.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number)
    if (!pid) continue
    if (!kids.has(ppid)) kids.set(ppid, [])
    kids.get(ppid).push(pid)
  }
  const out = []
  const stack = [root]
  while (stack.length) {
    const p = stack.pop()
    for (const c of kids.get(p) ?? []) {
      out.push(c)
      stack.push(c)
    }
  }
  return out
}

function killJob(job) {
  if (!job.pid) return
  const tree = descendants(job.pid)
  for (const target of [-job.pid, ...tree.map((p) => -p), ...tree]) {
    try {
      process.kill(target, 'SIGKILL')
    } catch {}
  }
  job.pid = null
}

/** terminate a running job now: with `result` ({exitCode} | {signal}), or wait for its process to end */
export function complete(home, id, result, waitMs = 30_000) {
  const t0 = Date.now()
  for (;;) {
    const r = withHome(home, () =>
      withState((st) => {
        const job = findIn(st, id)
        if (job?.ad.JobStatus !== 2) return { done: true, value: false }
        if (result) {
          killJob(job)
          finish(st, job, result)
          return { done: true, value: result }
        }
        if (!job.exitFile) spawnJob(job) // started with spawn: false: run it now
        reap(st)
        if (!findIn(st, id)) {
          const h = st.history.find((j) => `${j.cluster}.${j.proc}` === id)
          return {
            done: true,
            value: h.ad.ExitBySignal
              ? { exitCode: null, signal: h.ad.ExitSignal }
              : { exitCode: h.ad.ExitCode, signal: null },
          }
        }
        return { done: false }
      }),
    )
    if (r.done) return r.value
    if (Date.now() - t0 > waitMs) throw new Error(`fake condor: job ${id} did not finish in ${waitMs} ms`)
    spawnSync('sleep', ['0.05'])
  }
}

export function hold(home, id, reason, code = 0, subcode = 0) {
  return withHome(home, () =>
    withState((st) => {
      const job = findIn(st, id)
      if (!job) return false
      if (job.ad.JobStatus === 2) {
        killJob(job) // a running job is vacated first
        writeEvent(job, 4, { reason, code, subcode })
      }
      setStatus(job, 5)
      Object.assign(job.ad, { HoldReason: reason, HoldReasonCode: code, HoldReasonSubCode: subcode })
      delete job.ad.RemoteHost
      writeEvent(job, 12, { reason, code, subcode })
      return true
    }),
  )
}

export function release(home, id) {
  return withHome(home, () =>
    withState((st) => {
      const job = findIn(st, id)
      if (job?.ad.JobStatus !== 5) return false
      setStatus(job, 1)
      job.ad.ReleaseReason = `via condor_release (by user ${USER()})`
      for (const k of ['HoldReason', 'HoldReasonCode', 'HoldReasonSubCode']) delete job.ad[k]
      writeEvent(job, 13, { reason: job.ad.ReleaseReason })
      return true
    }),
  )
}

export function evict(home, id, reason = 'The startd is shutting down') {
  return withHome(home, () =>
    withState((st) => {
      const job = findIn(st, id)
      if (job?.ad.JobStatus !== 2) return false
      killJob(job)
      job.ad.LastRemoteHost = job.ad.RemoteHost
      delete job.ad.RemoteHost
      job.ad.LastVacateReason = reason
      setStatus(job, 1)
      writeEvent(job, 4, { reason })
      return true
    }),
  )
}

/** condor_rm: aborted event, JobStatus 3 Removed, into the history; returns the removed ids */
export function remove(home, id, reason) {
  return withHome(home, () =>
    withState((st) => {
      const jobs = st.queue.filter((j) =>
        id.includes('.') ? `${j.cluster}.${j.proc}` === id : j.cluster === Number(id),
      )
      for (const job of jobs) {
        killJob(job)
        setStatus(job, 3)
        job.ad.RemoveReason = reason
        delete job.ad.RemoteHost
        writeEvent(job, 9, { reason })
        toHistory(st, job)
      }
      return jobs.map((j) => `${j.cluster}.${j.proc}`)
    }),
  )
}

/** the job vanishes from the schedd without a trace (lost) */
export function forget(home, id) {
  return withHome(home, () =>
    withState((st) => {
      st.queue = st.queue.filter((j) => `${j.cluster}.${j.proc}` !== id)
      return true
    }),
  )
}

export function jobs(home) {
  return withHome(home, () => load())
}

/** auto mode: idle jobs start (their process runs in the background); finished processes complete */
function autoStep() {
  const ids = withState((st) => {
    reap(st)
    return st.queue.filter((j) => j.ad.JobStatus === 1).map((j) => `${j.cluster}.${j.proc}`)
  })
  for (const id of ids) start(HOME(), id)
}

// ---------------------------------------------------------------- entry point

function main() {
  const [tool, ...args] = process.argv.slice(2)
  fs.mkdirSync(HOME(), { recursive: true })
  fs.appendFileSync(
    p('calls.jsonl'),
    JSON.stringify({ tool, argv: args, cwd: process.cwd(), at: new Date().toISOString() }) + '\n',
  )
  switch (tool) {
    case 'condor_submit':
      return condorSubmit(args, process.cwd())
    case 'condor_q':
      return condorQ(args)
    case 'condor_history':
      return condorHistory(args)
    case 'condor_rm':
      return condorRm(args)
    case 'condor_status':
      return condorStatus(args)
    case 'condor_version':
      process.stdout.write(
        '$CondorVersion: 24.0.1 2024-10-31 BuildID: FAKE-SIMULATOR $\n$CondorPlatform: x86_64_Debian12 $\n',
      )
      return
    default:
      fail(`fake condor: unknown tool ${tool}`)
  }
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(new URL(import.meta.url).pathname)) main()
