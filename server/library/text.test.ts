import { describe, expect, it } from 'vitest'
import { checkWorkflowText, decodeWorkflowFile, MAX_YAML_BYTES } from './text.ts'
import type { DomainError } from '../errors.ts'

function err(f: () => unknown): DomainError {
  try {
    f()
  } catch (e) {
    return e as DomainError
  }
  throw new Error('expected an error')
}

describe('workflow text checks', () => {
  it('accepts YAML text and drops a BOM', () => {
    expect(checkWorkflowText('\uFEFFa: 1\n')).toBe('a: 1\n')
  })
  it('refuses non-strings, empty text, NUL, control characters and lone surrogates with clear messages', () => {
    expect(err(() => checkWorkflowText(42)).message).toMatch(/must be YAML text \(a string\), got number/)
    expect(err(() => checkWorkflowText(['a'])).message).toMatch(/got an array/)
    expect(err(() => checkWorkflowText('   \n')).message).toMatch(/empty/)
    const nul = err(() => checkWorkflowText('a: 1\nb: \u0000\n'))
    expect(nul.domainCode).toBe('BAD_INPUT')
    expect(nul.message).toMatch(/NUL byte at line 2, column 4/)
    expect(err(() => checkWorkflowText('a: \u0007')).message).toMatch(/control character 0x07/)
    expect(err(() => checkWorkflowText('a: \uD800x')).message).toMatch(/unpaired surrogate/)
  })
  it('refuses more than 1 MiB (counted in UTF-8 bytes)', () => {
    const e = err(() => checkWorkflowText('#' + 'é'.repeat(MAX_YAML_BYTES / 2)))
    expect(e.domainCode).toBe('TOO_LARGE')
    expect(e.message).toMatch(/1\.0 MiB; the limit is 1\.0 MiB|the limit is 1\.0 MiB/)
    expect(checkWorkflowText('#' + 'x'.repeat(MAX_YAML_BYTES - 1))).toHaveLength(MAX_YAML_BYTES)
  })
  it('decodes files strictly as UTF-8', () => {
    expect(decodeWorkflowFile(new TextEncoder().encode('name: ü\n'), 'a.yaml')).toBe('name: ü\n')
    expect(err(() => decodeWorkflowFile(new Uint8Array([0x6e, 0xff, 0xfe, 0x0a]), 'a.yaml')).message).toMatch(
      /not UTF-8 text/,
    )
    expect(
      err(() => decodeWorkflowFile(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]), 'img.yaml')).message,
    ).toMatch(/NUL bytes: it is a binary file/)
  })
})
