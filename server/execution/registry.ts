/**
 * Driver registry: the plan's `backend` + `strategy` choose a Backend and a Strategy.
 * Built in: backend `local`, strategy `local`. Other drivers register themselves from their own
 * module (imported once in `drivers.ts`):
 *
 *     registerStrategy('slurm', () => new SlurmStrategy(loadSite()))
 *     registerBackend('dask', () => new DaskBackend())
 */
import { processSingleton } from '../singleton.ts'
import { LocalBackend } from './backends/local.ts'
import { LocalStrategy } from './strategies/local.ts'
import type { Backend, Strategy } from './types.ts'

type Factory<T> = () => T

const drivers = processSingleton('execution.drivers', () => ({
  backends: new Map<string, Factory<Backend>>(),
  strategies: new Map<string, Factory<Strategy>>(),
}))

export function registerBackend(name: string, factory: Factory<Backend>): void {
  drivers.backends.set(name, factory)
}
export function registerStrategy(name: string, factory: Factory<Strategy>): void {
  drivers.strategies.set(name, factory)
}
export function registeredBackends(): string[] {
  return [...drivers.backends.keys()].sort()
}
export function registeredStrategies(): string[] {
  return [...drivers.strategies.keys()].sort()
}

if (!drivers.backends.has('local')) registerBackend('local', () => new LocalBackend())
if (!drivers.strategies.has('local')) registerStrategy('local', () => new LocalStrategy())

export class DriverError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DriverError'
  }
}

export function resolveDrivers(backendName: string, strategyName: string): { backend: Backend; strategy: Strategy } {
  const strategy = strategyName === 'default' ? 'local' : strategyName
  const bf = drivers.backends.get(backendName)
  if (!bf)
    throw new DriverError(
      `backend '${backendName}' is not available in this server (available: ${registeredBackends().join(', ')})`,
    )
  const sf = drivers.strategies.get(strategy)
  if (!sf)
    throw new DriverError(
      `strategy '${strategy}' is not available in this server (available: ${registeredStrategies().join(', ')})`,
    )
  const backend = bf()
  const s = sf()
  if (!backend.supportsStrategy(s.name))
    throw new DriverError(`backend '${backendName}' cannot use strategy '${strategy}'`)
  return { backend, strategy: s }
}
