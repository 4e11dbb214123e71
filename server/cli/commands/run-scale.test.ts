/**
 * `controlroom run` over 1,000 partitions of a generated dataset (hep.generate, then one hep.hist
 * task per partition of 2 events, on 2 warm executors): while the run goes on, the CLI keeps printing
 * progress with growing counts, and the run's page data (getRun, what the run page reads) answers
 * with the counts of the moment; at the end every partition is merged into the histogram.
 * Behaviour only: no timing is asserted (speed is measured in `npm run bench`).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { listRunArtifacts } from '../../execution/hep-artifacts.ts'
import { getRun } from '../../execution/runs.ts'
import { main } from '../main.ts'
import { cliTestHome } from '../testing.ts'

const PARTITIONS = 1000

const home = cliTestHome('scale')

const yaml = `version: 1
name: cli-hep-${PARTITIONS}
data:
  chunk_size: 2
  datasets:
    - name: gen
      eventtype: mc
      files: ["{run_dir}/data/gen-*.parquet"]
      nevents: ${2 * PARTITIONS}
analysis:
  stages:
    - id: Generate
      op: hep.generate
      params: { output: "data/gen-{i}.parquet", files: 1, events: ${2 * PARTITIONS}, seed: 7 }
    - id: Hist
      op: hep.hist
      params:
        histograms:
          - { name: nmuon, expr: NMuon, bins: { n: 10, low: 0, high: 10 } }
execution:
  pools:
    default: { workers: 2, resources: { cpus: 1 } }
`

/** "succeeded 412" in a progress line */
const succeededIn = (line: string) => Number(/succeeded (\d+)/.exec(line)?.[1] ?? Number.NaN)

describe('controlroom run over 1,000 partitions of a generated dataset', () => {
  it('keeps printing progress and the run page data answers while it runs; every partition is merged', async () => {
    const file = path.join(home.dir, 'hep-1000.yaml')
    writeFileSync(file, yaml)
    const lines: string[] = []
    let done = false
    const cli = main(['run', file], {
      stdout: { write: (s: string) => lines.push(...s.split('\n').filter(Boolean)) },
      stderr: { write: () => {} },
    }).finally(() => {
      done = true
    })

    // what the run page reads, asked while the CLI runs the run
    const seen: number[] = []
    let runId: string | null = null
    while (!done) {
      await new Promise((r) => setTimeout(r, 250))
      runId ??= (await home.t.db.run.findFirst({ where: { source: 'cli' }, select: { id: true } }))?.id ?? null
      if (!runId || done) continue
      const info = await getRun(home.t.db, runId)
      if (info.run.state === 'running') seen.push(info.counts.succeeded ?? 0)
    }
    expect(await cli).toBe(0)

    // the page's data moved while the run went on: counts between none and all were seen
    expect(seen.some((n) => n > 1 && n < PARTITIONS + 1)).toBe(true)
    // the CLI printed progress while it ran (a summary line every 2 s), with counts that grow
    const progress = lines.filter((l) => /^\s+\S+\s+.*succeeded \d+/.test(l)).map(succeededIn)
    const midRun = progress.filter((n) => n > 1 && n < PARTITIONS + 1)
    expect(midRun.length).toBeGreaterThanOrEqual(1)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
    // and ended with the summary of all 1,001 tasks
    expect(lines.join('\n')).toMatch(new RegExp(`run \\S+ succeeded in .*\\(${PARTITIONS + 1} succeeded\\)`))
    expect(lines.join('\n')).toMatch(new RegExp(`Hist\\s+pool default\\s+${PARTITIONS}/${PARTITIONS} succeeded`))

    // every partition's events are in the merged histogram
    const info = await getRun(home.t.db, runId!)
    const artifact = (await listRunArtifacts(home.t.db, runId!)).find((a) => a.name === 'nmuon.json')
    expect(artifact).toBeTruthy()
    const hist = JSON.parse(readFileSync(path.join(info.run.runDir!, artifact!.path), 'utf8')) as {
      entries: number
      missing?: number
    }
    expect(hist.entries + (hist.missing ?? 0)).toBe(2 * PARTITIONS)
  }, 600_000)
})
