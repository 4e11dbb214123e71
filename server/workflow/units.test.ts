import { describe, it, expect } from 'vitest'
import { parseMemory, parseDuration } from './index.ts'

const GiB = 1024 ** 3
const MiB = 1024 ** 2

describe('parseMemory (binary units; plain numbers are MB, like Slurm)', () => {
  it.each([
    ['4GB', 4 * GiB],
    ['4G', 4 * GiB],
    ['4GiB', 4 * GiB],
    ['4 gb', 4 * GiB],
    ['64G', 64 * GiB],
    ['512MiB', 512 * MiB],
    ['512M', 512 * MiB],
    ['1.5GB', 1.5 * GiB],
    ['2TB', 2 * 1024 ** 4],
    ['100KB', 100 * 1024],
    ['123B', 123],
    ['4096', 4096 * MiB],
    [4096, 4096 * MiB],
  ] as const)('%s', (input, bytes) => {
    expect(parseMemory(input)).toBe(bytes)
  })
  it.each(['', 'lots', '4 GBs', '-1GB', '4XB', 'GB', '1.2.3G'])('rejects %j', (input) => {
    expect(() => parseMemory(input)).toThrow(RangeError)
  })
})

describe('parseDuration (seconds; bare numbers are Slurm minutes unless bareUnit is seconds)', () => {
  it.each([
    ['02:00:00', 7200],
    ['1-00:00:00', 86400],
    ['1-12', 86400 + 12 * 3600],
    ['1-02:30', 86400 + 2 * 3600 + 30 * 60],
    ['10:30', 630],
    ['90m', 5400],
    ['90min', 5400],
    ['2h', 7200],
    ['1h30m', 5400],
    ['1.5h', 5400],
    ['30s', 30],
    ['2 hours', 7200],
    ['1d', 86400],
    ['45', 45 * 60],
    [45, 45 * 60],
  ] as const)('%s', (input, secs) => {
    expect(parseDuration(input)).toBe(secs)
  })
  it('bare numbers can mean seconds', () => {
    expect(parseDuration(3600, { bareUnit: 'seconds' })).toBe(3600)
    expect(parseDuration('3600', { bareUnit: 'seconds' })).toBe(3600)
  })
  it.each(['', 'soon', '5 parsecs', '01:61:00', '1:2:3:4', '-5m', 'h'])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow(RangeError)
  })
})
