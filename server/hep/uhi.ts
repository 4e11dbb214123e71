/**
 * Histograms in the UHI serialisation (scikit-hep's Unified Histogram Interface, `uhi_schema: 1`), the
 * JSON that `hist` and boost-histogram read in one line:
 *
 *     import json, hist, uhi.io.json
 *     h = hist.Hist(json.load(open("dimuon_mass.uhi.json"), object_hook=uhi.io.json.object_hook))
 *
 * A regular axis with underflow and overflow bins and a weighted storage (values = sum of weights,
 * variances = sum of squared weights, flow bins included as boost-histogram's `view(flow=True)`).
 * See server/hep/README.md.
 */
import type { Hist1D } from './hist.ts'

export interface UhiHistogram {
  uhi_schema: 1
  writer_info: { 'control-room': { format: string } }
  axes: {
    type: 'regular'
    lower: number
    upper: number
    bins: number
    underflow: true
    overflow: true
    circular: false
    metadata: { name: string; label: string }
  }[]
  storage: { type: 'weighted'; values: number[]; variances: number[] }
  metadata: Record<string, string | number | boolean>
}

export function histogramToUhi(h: Hist1D, extra: Record<string, string | number | boolean> = {}): UhiHistogram {
  return {
    uhi_schema: 1,
    writer_info: { 'control-room': { format: 'hist1d v1' } },
    axes: [
      {
        type: 'regular',
        lower: h.axis.low,
        upper: h.axis.high,
        bins: h.axis.nbins,
        underflow: true,
        overflow: true,
        circular: false,
        metadata: { name: h.expr, label: h.xlabel ?? h.expr },
      },
    ],
    storage: { type: 'weighted', values: [...h.sumw], variances: [...h.sumw2] },
    metadata: {
      name: h.name,
      label: h.title ?? h.name,
      entries: h.entries,
      missing: h.missing,
      ...(h.weight ? { weight: h.weight } : {}),
      ...extra,
    },
  }
}
