/**
 * One instance per process of a stateful service (the engine, the event bus, the database client,
 * registries). Kept on globalThis because Next.js may evaluate a module more than once in one process
 * (route bundles, dev reloads): a module-level `let` would then hold two engines.
 */
const store = globalThis as typeof globalThis & { __controlroomSingletons?: Map<string, unknown> }

export function processSingleton<T>(key: string, create: () => T): T {
  store.__controlroomSingletons ??= new Map()
  const map = store.__controlroomSingletons
  if (!map.has(key)) map.set(key, create())
  return map.get(key) as T
}

/** Drops one singleton (tests that need a fresh instance). */
export function resetProcessSingleton(key: string): void {
  store.__controlroomSingletons?.delete(key)
}
