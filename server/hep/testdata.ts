import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The real ROOT files the HEP tests and benches read: a few small files of scikit-hep-testdata
 * (BSD-3), kept in the repository under `__fixtures__/root/` with their licence and origin
 * (see the README there), so that a fresh clone passes its tests anywhere.
 */
export function hepTestDataDir(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'root')
}
