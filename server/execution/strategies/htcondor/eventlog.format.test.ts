/**
 * FORMAT tests (no HTCondor runs here): the job event log parser on samples quoted from
 * HTCondor's manual and written with condor_event.cpp's format strings (see
 * __fixtures__/docs/SOURCES.md), and the reduction to Control Room states.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { hostFromSinful, parseEventLog, parseEventTime, reduceEvents } from './eventlog.ts'
import { mapView, viewFromEvents } from './status.ts'

const DOCS = path.join(path.dirname(fileURLToPath(import.meta.url)), '__fixtures__/docs')
const read = (f: string) => readFileSync(path.join(DOCS, f), 'utf8')

describe('classic text event log', () => {
  it('parses the manual quick-start sample (000, 001, 006, 005) with its usage table', () => {
    const text = read('quick-start-sleep.log')
    const r = parseEventLog(text, 2026)
    expect(r.format).toBe('text')
    expect(r.consumed).toBe(Buffer.byteLength(text))
    expect(r.events.map((e) => [e.code, e.name, e.jobId])).toEqual([
      [0, 'SUBMIT', '6.0'],
      [1, 'EXECUTE', '6.0'],
      [6, 'IMAGE_SIZE', '6.0'],
      [5, 'JOB_TERMINATED', '6.0'],
    ])
    const [sub, exe, img, term] = r.events
    expect(sub!.submitHost).toBe('<128.105.14.44:46062>')
    expect(exe!.host).toBe('128.105.15.5')
    expect(exe!.time).toEqual(new Date(2026, 1, 13, 10, 49, 24))
    expect(img!.imageSizeKb).toBe(100000)
    expect(img!.memoryMb).toBe(0)
    expect(term).toMatchObject({ normal: true, returnValue: 0, signal: null })
    expect(term!.resources).toEqual({
      Cpus: { usage: null, request: '1', allocated: '1' },
      Disk: { usage: '100000', request: '100000', allocated: '2033496' },
      Memory: { usage: '0', request: '98', allocated: '2001' },
    })
    const s = reduceEvents(r.events).get('6.0')!
    expect(s).toMatchObject({ status: 'completed', exitCode: 0, starts: 1, host: '128.105.15.5' })
    expect(mapView(viewFromEvents(s))).toMatchObject({ worker: 'gone', task: 'succeeded', final: true })
  })

  it('parses evicted (004), held (012) with reason and code, released (013), abnormal termination (005), aborted (009)', () => {
    const r = parseEventLog(read('condor-event.cpp-formats.log'))
    expect(r.events.map((e) => `${e.code}:${e.jobId}`)).toEqual([
      '0:4242.0',
      '0:4242.1',
      '1:4242.0',
      '4:4242.0',
      '1:4242.0',
      '4:4242.0',
      '12:4242.0',
      '13:4242.0',
      '1:4242.0',
      '6:4242.0',
      '5:4242.0',
      '9:4242.1',
    ])
    const [, , exe, ev1, , ev2, held, rel, , img, term, abort] = r.events
    expect(exe!.host).toBe('slot1_25@e2016.chtc.wisc.edu')
    expect(exe!.time).toEqual(new Date(2026, 10, 25, 10, 0, 20))
    expect(ev1).toMatchObject({
      reason: 'The startd is shutting down',
      code1: null,
      requeued: false,
      checkpointed: false,
    })
    expect(ev2).toMatchObject({ code1: 34, subcode: 102 })
    expect(held).toMatchObject({
      reason: 'Job has gone over cgroup memory limit of 16384 megabytes. Peak usage: 17001 megabytes.',
      code1: 34,
      subcode: 102,
    })
    expect(rel!.reason).toBe('via condor_release (by user alice)')
    expect(img!.memoryMb).toBe(2442)
    expect(term).toMatchObject({ normal: false, signal: 9, returnValue: null, coreFile: null, memoryMb: 17797 })
    expect(term!.resources!.Gpus).toEqual({ usage: '0.42', request: '1', allocated: '1' })
    expect(abort!.reason).toBe('via condor_rm (by user alice)')
  })

  it('reduces step by step: evicted -> idle again (task stays running), held -> visible hold reason, never "pending"', () => {
    const all = parseEventLog(read('condor-event.cpp-formats.log')).events
    const upTo = (n: number) => reduceEvents(all.slice(0, n)).get('4242.0')!
    // after the first eviction: back in the queue, the task keeps running (the engine never re-queues a started task)
    const evicted = upTo(4)
    expect(evicted).toMatchObject({ status: 'idle', starts: 1, evictions: 1 })
    expect(mapView(viewFromEvents(evicted))).toEqual({
      worker: 'pending-in-queue',
      task: 'running',
      final: false,
      reason: 'evicted from slot1_25@e2016.chtc.wisc.edu: The startd is shutting down; back in the queue',
      hopeless: false,
    })
    // held: its own state, with the reason and HoldReasonCode
    const held = upTo(7)
    expect(held).toMatchObject({ status: 'held', holdCode: 34, holdSubcode: 102 })
    const m = mapView(viewFromEvents(held))
    expect(m.reason).toBe(
      'held: Job has gone over cgroup memory limit of 16384 megabytes. Peak usage: 17001 megabytes. (HoldReasonCode 34 JobOutOfResources, subcode 102)',
    )
    expect(m.reason).not.toMatch(/idle|pending/i)
    expect(m).toMatchObject({ worker: 'pending-in-queue', task: 'running', final: false, hopeless: true })
    // with the site policy `holds: wait` the same hold is not hopeless
    expect(mapView(viewFromEvents(held), 'wait').hopeless).toBe(false)
    // released: idle again, the hold cleared
    expect(upTo(8)).toMatchObject({
      status: 'idle',
      holdReason: null,
      note: 'released via condor_release (by user alice)',
    })
    // finally killed by signal 9
    const done = reduceEvents(all).get('4242.0')!
    expect(done).toMatchObject({
      status: 'completed',
      signal: 9,
      exitCode: null,
      starts: 3,
      evictions: 2,
      memoryMb: 17797,
    })
    expect(mapView(viewFromEvents(done))).toMatchObject({
      worker: 'gone',
      task: 'failed',
      final: true,
      reason: 'killed by SIGKILL (signal 9)',
    })
    // the other job was removed with condor_rm: cancelled, with the reason
    const rm = reduceEvents(all).get('4242.1')!
    expect(mapView(viewFromEvents(rm))).toMatchObject({
      worker: 'gone',
      task: 'cancelled',
      final: true,
      reason: 'removed: via condor_rm (by user alice)',
    })
  })

  it('reads the pre-8.9 texts: "Job was aborted by the user." and "(0) Job was not checkpointed."', () => {
    const r = parseEventLog(read('legacy-formats.log'), 2025)
    const abort = r.events.find((e) => e.code === 9)!
    expect(abort.reason).toBe('via condor_rm (by user srp)')
    expect(abort.time).toEqual(new Date(2025, 7, 20, 13, 12, 55))
    const ev = r.events.find((e) => e.code === 4)!
    expect(ev.checkpointed).toBe(false)
    expect(ev.resources!.Memory).toEqual({ usage: '17797', request: '35840', allocated: '35840' })
    const states = reduceEvents(r.events)
    expect(states.get('244585.0')!.status).toBe('removed')
    expect(states.get('1708.99')!).toMatchObject({ status: 'idle', evictions: 1, starts: 1 })
  })

  it('is incremental: a partial event is left for the next read, offsets are bytes', () => {
    const text = read('condor-event.cpp-formats.log')
    const cut = text.indexOf('012 (4242') + 30 // in the middle of the held event
    const first = parseEventLog(text.slice(0, cut))
    expect(first.events.at(-1)!.code).toBe(4)
    const rest = parseEventLog(Buffer.from(text).subarray(first.consumed).toString())
    expect([...first.events, ...rest.events].map((e) => e.code)).toEqual(parseEventLog(text).events.map((e) => e.code))
  })

  it('survives junk and an event whose "..." is missing', () => {
    const text =
      'garbage line\n000 (1.000.000) 2026-01-02 03:04:05 Job submitted from host: <h>\n001 (1.000.000) 2026-01-02 03:04:06 Job executing on host: <10.1.2.3:9618>\n...\n'
    const r = parseEventLog(text)
    expect(r.events.map((e) => e.code)).toEqual([0, 1])
  })
})

describe('JSON event log (DEFAULT_USERLOG_FORMAT_OPTIONS = JSON)', () => {
  it('parses the event ClassAds: held with code/subcode, released, terminated with the return value', () => {
    const text = read('json-format.log')
    const r = parseEventLog(text)
    expect(r.format).toBe('json')
    expect(r.consumed).toBe(Buffer.byteLength(text))
    expect(r.events.map((e) => e.name)).toEqual([
      'SUBMIT',
      'EXECUTE',
      'JOB_HELD',
      'JOB_RELEASED',
      'EXECUTE',
      'JOB_TERMINATED',
    ])
    expect(r.events[1]!.host).toBe('slot1@worker7.example.org')
    expect(r.events[2]).toMatchObject({ code1: 6, subcode: 8 })
    expect(r.events[4]!.host).toBe('worker8.example.org')
    const held = reduceEvents(r.events.slice(0, 3)).get('77.0')!
    expect(mapView(viewFromEvents(held)).reason).toBe(
      "held: Error from slot1@worker7.example.org: Failed to execute '/run/job.sh': (errno=8: 'Exec format error') (HoldReasonCode 6 FailedToCreateProcess, subcode 8)",
    )
    const done = reduceEvents(r.events).get('77.0')!
    expect(mapView(viewFromEvents(done))).toMatchObject({ task: 'failed', reason: 'exit code 3' })
  })

  it('leaves a truncated JSON event for the next read', () => {
    const text = read('json-format.log')
    const cut = text.lastIndexOf('{') + 10
    const r = parseEventLog(text.slice(0, cut))
    expect(r.events).toHaveLength(5)
    expect(r.consumed).toBe(Buffer.byteLength(text.slice(0, text.lastIndexOf('{'))))
  })
})

describe('timestamps and hosts', () => {
  it('reads ISO, legacy, sub-second and UTC dates', () => {
    expect(parseEventTime('2026-11-25 10:00:20')).toEqual(new Date(2026, 10, 25, 10, 0, 20))
    expect(parseEventTime('11/25 10:00:20', 2026)).toEqual(new Date(2026, 10, 25, 10, 0, 20))
    expect(parseEventTime('2026-11-25 10:00:20.123Z')).toEqual(new Date(Date.UTC(2026, 10, 25, 10, 0, 20, 123)))
    expect(parseEventTime('2026-11-25T10:00:20+01:00')).toEqual(new Date(Date.UTC(2026, 10, 25, 9, 0, 20)))
  })

  it('takes the alias of a sinful string, else its address', () => {
    expect(hostFromSinful('<10.0.0.7:9618?addrs=10.0.0.7-9618&alias=e2016.chtc.wisc.edu&noUDP&sock=x>')).toBe(
      'e2016.chtc.wisc.edu',
    )
    expect(hostFromSinful('<128.105.15.5:43051?PrivNet=cs.wisc.edu>')).toBe('128.105.15.5')
  })
})
