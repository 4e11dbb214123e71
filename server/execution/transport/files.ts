import type { CommandTransport } from './types.ts'
import { TransportError } from './types.ts'

/**
 * File staging through a transport, so it works the same locally and over SSH:
 * the content goes through stdin (`cat > path`), never through the command line.
 */
export async function stageFile(
  t: CommandTransport,
  filePath: string,
  content: string,
  opts: { mode?: number; timeoutMs?: number } = {},
): Promise<void> {
  // a file staged as an account's OS user (users mode) is that user's alone
  const mode = ((opts.mode ?? 0o644) & (t.kind === 'as-user' ? 0o700 : 0o7777)).toString(8)
  // "$1" is the path: passed as an argument, not interpolated into the script
  const script =
    'set -e; d=$(dirname -- "$1"); mkdir -p -- "$d"; cat > "$1.tmp.$$"; chmod "$2" "$1.tmp.$$"; mv -f -- "$1.tmp.$$" "$1"'
  const r = await t.run(['sh', '-c', script, 'sh', filePath, mode], {
    stdin: content,
    timeoutMs: opts.timeoutMs ?? 60_000,
  })
  if (r.code !== 0)
    throw new TransportError(
      `could not write ${filePath} via ${t.description}: ${r.stderr.trim() || `exit ${r.code}`}`,
      r,
    )
}

/** create directories (mkdir -p) */
export async function makeDirs(t: CommandTransport, dirs: string[], timeoutMs = 60_000): Promise<void> {
  if (dirs.length === 0) return
  const r = await t.run(['mkdir', '-p', '--', ...dirs], { timeoutMs })
  if (r.code !== 0)
    throw new TransportError(`could not create ${dirs.join(', ')} via ${t.description}: ${r.stderr.trim()}`, r)
}

/** read at most `maxBytes` from the end of a file; null when it does not exist */
export async function readFileTail(t: CommandTransport, filePath: string, maxBytes = 1 << 20): Promise<string | null> {
  const r = await t.run(['sh', '-c', '[ -e "$1" ] || exit 3; tail -c "$2" -- "$1"', 'sh', filePath, String(maxBytes)], {
    timeoutMs: 60_000,
  })
  if (r.code === 3) return null
  if (r.code !== 0) throw new TransportError(`could not read ${filePath} via ${t.description}: ${r.stderr.trim()}`, r)
  return r.stdout
}
