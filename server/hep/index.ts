/**
 * HEP data library of Control Room: columnar events, the expression language, ROOT / Parquet I/O,
 * the ops behind hep.define / hep.select / hep.hist, partitioning, SVG rendering and a synthetic
 * dataset generator. Server-side (the io modules use node:fs); `types`, `expr`, `hist`, `cutflow`,
 * `exact` and `render` are pure and also run in the browser.
 */
export * from './types.ts'
export * from './expr/index.ts'
export * from './exact.ts'
export * from './ops.ts'
export * from './io/index.ts'
export * from './partition.ts'
export * from './render.ts'
export * from './generate.ts'
export * from './pipeline.ts'
