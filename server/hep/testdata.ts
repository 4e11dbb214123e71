import { existsSync } from 'node:fs'
import path from 'node:path'

/**
 * Where the tests find the real ROOT files (scikit-hep-testdata, in the repository's sibling
 * `../shared/data/root/`; they are read in place, never copied into the project).
 * HEP_TEST_DATA overrides. The tests fail, never skip, when the files are not there.
 */
export function hepTestDataDir(): string {
  const candidates = [
    process.env.HEP_TEST_DATA,
    path.resolve(process.cwd(), '..', 'shared', 'data', 'root'),
    '/work/shared/data/root',
  ].filter((c): c is string => Boolean(c))
  for (const c of candidates) {
    if (existsSync(path.join(c, 'uproot-Zmumu.root'))) return path.resolve(c)
  }
  throw new Error(
    `the real ROOT test files were not found (looked in ${candidates.join(', ')}); set HEP_TEST_DATA to the folder holding uproot-Zmumu.root`,
  )
}
