/**
 * The op families installed with Control Room, beyond the built-in ops (ops.ts): each is a module
 * that registers itself with the op registry (`registerOpFamily`, and partitioners with
 * partition.ts) when loaded. The registry loads a family when a plan uses one of its ops
 * (`loadOpFamilies`), so the engine never imports one, and a run without them never loads them.
 * To install another family, add it here.
 */
export interface InstalledOpFamily {
  /** ops whose name starts with this (e.g. `hep.`) */
  prefix: string
  description: string
  load: () => Promise<unknown>
}

export const INSTALLED_OP_FAMILIES: readonly InstalledOpFamily[] = [
  {
    prefix: 'hep.',
    description: 'FAST-HEP analysis ops over ROOT and Parquet datasets (ops/hep.ts)',
    load: () => import('./hep.ts'),
  },
]
