/**
 * POSIX shell quoting. Used when an argv list must cross a shell: the remote side of `ssh`
 * (which joins its arguments with spaces and hands them to the login shell) and generated
 * job scripts. Every word is quoted unless it is made only of characters no shell treats
 * specially, so the result is safe for any byte string without NUL.
 */

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/

export function shellQuote(word: string): string {
  if (word.includes('\0')) throw new Error('cannot quote a string that contains a NUL byte')
  if (word !== '' && SAFE.test(word)) return word
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** quote and join an argv list into one shell command line */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ')
}

/** a valid shell variable name (for `export NAME=...`) */
export function isEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)
}
