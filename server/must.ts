/**
 * The value, or an error naming what was expected. For tests, benches and fixtures, where an
 * element that is missing (an index past the end, a task id not in a map) means the code under
 * test is wrong: the failure says which element, instead of a TypeError three lines later or a
 * `!` that hides it from the type checker.
 */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}, got ${String(value)}`)
  return value
}

/**
 * The record, typed as holding each of `keys`, or an error naming the first key it lacks (e.g. the
 * tasks of a run by stage id: `mustHave(byStage, ['A', 'B'], 'the stages of run r1').A.state`).
 * Other keys keep their `T | undefined` type.
 */
export function mustHave<K extends string, T>(
  record: Record<string, T>,
  keys: readonly K[],
  what: string,
): Record<string, T> & Record<K, T> {
  for (const key of keys) {
    if (record[key] === undefined) {
      const present = Object.keys(record).join(', ') || 'none'
      throw new Error(`expected ${key} in ${what} (present: ${present})`)
    }
  }
  return record as Record<string, T> & Record<K, T>
}
