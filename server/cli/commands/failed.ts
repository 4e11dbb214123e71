/**
 * What the CLI says about a failed task: its stage, reason, exit code and the last lines of its
 * log (stderr, else stdout), redacted like the run page's log view.
 */
import { open } from 'node:fs/promises'
import path from 'node:path'
import { redactSecrets } from '../../credentials/redact.ts'
import { visible } from '../render.ts'

export const LOG_TAIL_LINES = 10
const TAIL_BYTES = 16 * 1024

export interface FailedTaskReport {
  id: string
  stage: string
  reason: string | null
  exitCode: number | null
  logDir: string
  logTail: string[]
}

/** The last `n` non-empty lines of a file (reads at most its last 16 KiB). */
export async function tailLines(file: string, n = LOG_TAIL_LINES): Promise<string[]> {
  let fh: Awaited<ReturnType<typeof open>> | null = null
  try {
    fh = await open(file, 'r')
    const { size } = await fh.stat()
    const start = Math.max(0, size - TAIL_BYTES)
    const buf = Buffer.alloc(size - start)
    await fh.read(buf, 0, buf.length, start)
    const lines = buf.toString('utf8').split('\n')
    if (start > 0) lines.shift() // a partial first line
    return lines.filter((l) => l.trim() !== '').slice(-n)
  } catch {
    return []
  } finally {
    await fh?.close()
  }
}

export async function failedTaskReport(
  runDir: string,
  t: { id: string; stageId: string; reason: string | null; exitCode: number | null },
): Promise<FailedTaskReport> {
  const logDir = path.join(runDir, 'tasks', t.id)
  let tail = await tailLines(path.join(logDir, 'stderr.log'))
  if (tail.length === 0) tail = await tailLines(path.join(logDir, 'stdout.log'))
  return {
    id: t.id,
    stage: t.stageId,
    reason: t.reason,
    exitCode: t.exitCode,
    logDir,
    logTail: tail.map((l) => visible(redactSecrets(l))),
  }
}
