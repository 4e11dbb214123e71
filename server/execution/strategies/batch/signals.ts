/** Signal numbers as batch systems report them (Slurm `ExitCode=0:9`, HTCondor `ExitSignal`), by name. */
const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
}

export function signalName(n: number): string {
  return SIGNAL_NAMES[n] ?? `signal ${n}`
}

/** `9`, `SIGKILL` or `KILL` -> 9 (null when unknown) */
export function signalNumber(name: string): number | null {
  const n = Number(name)
  if (Number.isInteger(n)) return n
  for (let i = 1; i < 32; i++) if (signalName(i) === name || signalName(i) === `SIG${name}`) return i
  return null
}
