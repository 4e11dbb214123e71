import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  ExactAccumulator,
  addExact,
  exactFromNumber,
  exactToNumber,
  formatExact,
  mulExact,
  parseExact,
} from './exact.ts'

/** Reference: exact sum as a BigInt multiple of 2^-1074, via exactFromNumber. */
function refSum(xs: number[]): string {
  return addExact(...xs.map(exactFromNumber))
}

const finite = fc.double({ noNaN: true, noDefaultInfinity: true })
const weights = fc.oneof(
  finite,
  fc.double({ min: -1e3, max: 1e3, noNaN: true }),
  fc.constantFrom(1, 0.1, -0.5, 5e-324, 1.7976931348623157e308),
)

describe('exact sums', () => {
  it('formats canonically', () => {
    expect(exactFromNumber(1)).toBe('0x1p0')
    expect(exactFromNumber(1.5)).toBe('0x3p-1')
    expect(exactFromNumber(-1234)).toBe('-0x269p1')
    expect(exactFromNumber(0)).toBe('0x0p0')
    expect(exactFromNumber(5e-324)).toBe('0x1p-1074')
    expect(formatExact(8n, 0)).toBe('0x1p3')
    expect(parseExact('-0x3p-1')).toEqual({ mant: -3n, exp: -1 })
    expect(mulExact('0x3p-1', '0x3p-1')).toBe('0x9p-2')
  })
  it('round-trips every finite double', () => {
    fc.assert(
      fc.property(finite, (x) => Object.is(exactToNumber(exactFromNumber(x)), x === 0 ? 0 : x)),
      { numRuns: 3000 },
    )
  })
  it('rounds exact sums to the nearest double', () => {
    // 1 + 2^-53 + 2^-80 is just above the half-way point between 1 and 1 + 2^-52
    expect(exactToNumber(addExact(exactFromNumber(1), exactFromNumber(2 ** -53), exactFromNumber(2 ** -80)))).toBe(
      1 + 2 ** -52,
    )
    expect(exactToNumber(addExact(exactFromNumber(1), exactFromNumber(2 ** -53)))).toBe(1) // tie -> even
    expect(exactToNumber(addExact(exactFromNumber(1e308), exactFromNumber(1e308)))).toBe(Infinity)
  })
  it('the accumulator matches the BigInt reference', () => {
    fc.assert(
      fc.property(fc.array(weights, { maxLength: 60 }), (xs) => {
        const acc = new ExactAccumulator(1)
        for (const x of xs) acc.add(0, x)
        return acc.toExactStrings()[0] === refSum(xs)
      }),
      { numRuns: 500 },
    )
  })
  it('is exactly associative: any split and merge order gives the same sum', () => {
    fc.assert(
      fc.property(
        fc.array(weights, { minLength: 1, maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (xs, cuts) => {
          const bounds = [...new Set([0, xs.length, ...cuts.map((c) => c % (xs.length + 1))])].sort((a, b) => a - b)
          const parts: string[] = []
          for (let i = 0; i + 1 < bounds.length; i++) {
            const acc = new ExactAccumulator(1)
            for (const x of xs.slice(bounds[i], bounds[i + 1])) acc.add(0, x)
            parts.push(acc.toExactStrings()[0]!)
          }
          const whole = new ExactAccumulator(1)
          for (const x of xs) whole.add(0, x)
          const w = whole.toExactStrings()[0]
          const leftFold = parts.reduce((a, b) => addExact(a, b), '0x0p0')
          const rightFold = parts.reduceRight((a, b) => addExact(b, a), '0x0p0')
          return leftFold === w && rightFold === w
        },
      ),
      { numRuns: 300 },
    )
  })
  it('survives many additions (lazy carries)', () => {
    const acc = new ExactAccumulator(2)
    for (let i = 0; i < 1_200_000; i++) {
      acc.add(0, 0.1)
      acc.add(1, -3.75)
    }
    expect(acc.toExactStrings()[0]).toBe(mulExact(exactFromNumber(0.1), formatExact(1_200_000n, 0)))
    expect(exactToNumber(acc.toExactStrings()[1]!)).toBe(-3.75 * 1_200_000)
  })
})
