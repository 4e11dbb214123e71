/**
 * A chain of HEP ops run over one partition: read only the columns the chain needs, then apply
 * hep.define / hep.select / hep.hist in order (a select filters the events seen by later stages).
 * Partition results merge exactly (`mergePipelineResults`), so a dataset's result is the same
 * whatever its partitioning.
 *
 *   const p = preparePipeline([{ op: 'hep.define', params }, { op: 'hep.select', params }, { op: 'hep.hist', params }])
 *   const r = await runPartition(partition, p)      // or p.run(batch)
 */
import {
  prepareDefine,
  prepareHist,
  prepareSelect,
  type PreparedDefine,
  type PreparedHist,
  type PreparedSelect,
} from './ops.ts'
import type { Hist1D } from './hist.ts'
import { mergeHistogramLists } from './hist.ts'
import { mergeCutflows, type Cutflow } from './cutflow.ts'
import { HepError, filterBatch, type EventBatch } from './types.ts'
import { readEvents } from './io/index.ts'
import type { Partition } from './partition.ts'

export type HepOpName = 'hep.define' | 'hep.select' | 'hep.hist'

export interface HepStage {
  /** stage id (defaults to op#index); keys cutflows and prefixes nothing else */
  id?: string
  op: HepOpName
  params: unknown
}

type Prepared = { id: string; stage: PreparedDefine | PreparedSelect | PreparedHist }

export interface PipelineResult {
  /** events read */
  events: number
  /** events left after all selections */
  selected: number
  /** one cutflow per hep.select stage, by stage id */
  cutflows: Record<string, Cutflow>
  /** all histograms of all hep.hist stages (names must be unique across stages) */
  histograms: Hist1D[]
}

export interface PreparedPipeline {
  stages: Prepared[]
  /** columns to read from the files */
  requiredColumns(): string[]
  run(batch: EventBatch): PipelineResult
  /** the result of zero events */
  empty(): PipelineResult
}

export function preparePipeline(stages: HepStage[]): PreparedPipeline {
  const prepared: Prepared[] = stages.map((s, i) => {
    const id = s.id ?? `${s.op}#${i}`
    try {
      switch (s.op) {
        case 'hep.define':
          return { id, stage: prepareDefine(s.params as never) }
        case 'hep.select':
          return { id, stage: prepareSelect(s.params as never) }
        case 'hep.hist':
          return { id, stage: prepareHist(s.params as never) }
        default:
          throw new HepError(`unknown HEP op '${(s as HepStage).op}'`)
      }
    } catch (e) {
      if (e instanceof Error) (e as Error & { stage?: string }).stage = id
      throw e
    }
  })
  const histNames = new Set<string>()
  for (const p of prepared) {
    if (p.stage.op !== 'hep.hist') continue
    for (const s of p.stage.specs) {
      if (histNames.has(s.name)) throw new HepError(`histogram name '${s.name}' is used by two stages`)
      histNames.add(s.name)
    }
  }

  function requiredColumns(): string[] {
    const defined = new Set<string>()
    const need = new Set<string>()
    for (const p of prepared) {
      for (const c of p.stage.requiredColumns()) if (!defined.has(c)) need.add(c)
      if (p.stage.op === 'hep.define') for (const o of p.stage.outputs) defined.add(o)
    }
    return [...need]
  }

  function run(batch: EventBatch): PipelineResult {
    let b = batch
    const cutflows: Record<string, Cutflow> = {}
    const histograms: Hist1D[] = []
    for (const p of prepared) {
      const s = p.stage
      if (s.op === 'hep.define') b = s.run(b)
      else if (s.op === 'hep.select') {
        const r = s.run(b)
        cutflows[p.id] = r.cutflow
        b = filterBatch(b, r.mask)
      } else histograms.push(...s.run(b))
    }
    return { events: batch.length, selected: b.length, cutflows, histograms }
  }

  return {
    stages: prepared,
    requiredColumns,
    run,
    empty() {
      const cutflows: Record<string, Cutflow> = {}
      const histograms: Hist1D[] = []
      for (const p of prepared) {
        if (p.stage.op === 'hep.select') cutflows[p.id] = p.stage.emptyCutflow()
        else if (p.stage.op === 'hep.hist') histograms.push(...p.stage.empty())
      }
      return { events: 0, selected: 0, cutflows, histograms }
    },
  }
}

/** Exact merge of two partition results of the same pipeline. */
export function mergePipelineResults(a: PipelineResult, b: PipelineResult): PipelineResult {
  const cutflows: Record<string, Cutflow> = {}
  for (const k of new Set([...Object.keys(a.cutflows), ...Object.keys(b.cutflows)])) {
    const x = a.cutflows[k]
    const y = b.cutflows[k]
    const merged = x && y ? mergeCutflows(x, y) : (x ?? y)
    if (merged) cutflows[k] = merged
  }
  return {
    events: a.events + b.events,
    selected: a.selected + b.selected,
    cutflows,
    histograms: mergeHistogramLists(a.histograms, b.histograms),
  }
}

/** Reads a partition's events (only the needed columns) and runs the pipeline on them. */
export async function runPartition(partition: Partition, pipeline: PreparedPipeline): Promise<PipelineResult> {
  const batch = await readEvents(partition.file, {
    treeName: partition.treeName ?? undefined,
    columns: pipeline.requiredColumns(),
    start: partition.start,
    stop: partition.stop,
  })
  return pipeline.run(batch)
}
