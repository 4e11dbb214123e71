import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { withTable } from '../scripts/settings-table.ts'
import { checkSettings, readSetting } from './settings.ts'

describe('settings', () => {
  it('defaults what is unset and parses what is set', () => {
    expect(readSetting('PORT', {})).toBe(3000)
    expect(readSetting('PORT', { PORT: '8080' })).toBe(8080)
    expect(readSetting('CONTROLROOM_AUTH', { CONTROLROOM_AUTH: ' Users ' })).toBe('users')
    expect(readSetting('CONTROLROOM_HOME', { CONTROLROOM_HOME: 'x/y' })).toBe(path.resolve('x/y'))
    expect(readSetting('CONTROLROOM_HOME', {})).toBe(path.resolve('var'))
    expect(readSetting('CONTROLROOM_DEBUG', {})).toBe(false)
    expect(readSetting('CONTROLROOM_DEBUG', { CONTROLROOM_DEBUG: '1' })).toBe(true)
  })

  it('names the variable, the bad value and the default when a value is wrong', () => {
    expect(() => readSetting('CONTROLROOM_AUTH', { CONTROLROOM_AUTH: 'oidc' })).toThrow(
      /CONTROLROOM_AUTH="oidc" is not valid: .*default: `token`/,
    )
    expect(checkSettings({ PORT: 'eighty', CONTROLROOM_SESSION_HOURS: '-1' })).toEqual([
      expect.stringMatching(/^PORT="eighty" is not valid/),
      expect.stringMatching(/^CONTROLROOM_SESSION_HOURS="-1" is not valid/),
    ])
    expect(checkSettings({})).toEqual([])
  })

  it("keeps the README's settings table generated from the declarations", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    expect(withTable(readme), 'run: npx tsx scripts/settings-table.ts').toBe(readme)
  })
})
