import { describe, expect, it } from 'vitest'
import { formatBytes, formatDurationSpec, formatElapsed, formatMiB } from './format.ts'

describe('formatBytes', () => {
  it('prints binary units, whole numbers without decimals', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(4 * 1024 ** 3)).toBe('4 GiB')
    expect(formatBytes(64 * 1024 ** 3 + 1)).toBe('64 GiB')
    expect(formatBytes(null)).toBe('–')
    expect(formatBytes(Number.NaN)).toBe('–')
  })

  it('keeps one decimal when asked, so close sizes compared in a message differ', () => {
    expect(formatBytes(1024 * 1024, { oneDecimal: true })).toBe('1.0 MiB')
    expect(formatBytes(3 * 1024 * 1024 + 1, { oneDecimal: true })).toBe('3.0 MiB')
    expect(formatBytes(1536, { oneDecimal: true })).toBe('1.5 KiB')
    expect(formatBytes(512, { oneDecimal: true })).toBe('512 B')
  })
})

describe('formatElapsed', () => {
  it('reads at a glance at every scale', () => {
    expect(formatElapsed(850)).toBe('850 ms')
    expect(formatElapsed(1234)).toBe('1.2 s')
    expect(formatElapsed(42_000)).toBe('42 s')
    expect(formatElapsed(184_000)).toBe('3 min 04 s')
    expect(formatElapsed(2 * 3600_000 + 5 * 60_000)).toBe('2 h 05 min')
    expect(formatElapsed(-5)).toBe('0 ms')
    expect(formatElapsed(undefined)).toBe('–')
  })
})

describe('formatDurationSpec', () => {
  it('prints seconds in the workflow syntax that parseDuration reads back', () => {
    expect(formatDurationSpec(5400)).toBe('1h30m')
    expect(formatDurationSpec(86400 + 5)).toBe('1d5s')
    expect(formatDurationSpec(0)).toBe('0s')
    expect(formatDurationSpec(null)).toBe('-')
  })
})

describe('formatMiB', () => {
  it('writes memory the way workflows do', () => {
    expect(formatMiB(65536)).toBe('64 GB')
    expect(formatMiB(7812)).toBe('7.6 GB')
    expect(formatMiB(512)).toBe('512 MB')
    expect(formatMiB(2 * 1024 * 1024)).toBe('2.0 TB')
  })
})
