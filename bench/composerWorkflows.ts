/** The composer bench's generated chains workflow (kept apart so that tools can import it without the bench). */
/** A workflow with `n` stages over three pools: chains, fan-ins, fresh roots, prefer/fallback, modifiers. */
export function generateWorkflow(n: number): string {
  const ops = ['hep.select', 'hep.define', 'hep.hist', 'noop']
  const out: string[] = [
    `name: generated-${n}`,
    'data:',
    '  datasets:',
    '    - { name: sample0, eventtype: mc, files: [root://eos.example.org/store/sample0/file_0.root], nevents: 100000 }',
    'execution:',
    '  backend: local',
    '  strategy: local',
    '  pools:',
    '    default:',
    '      workers: 8',
    '      resources: { cpus: 1, memory: 2GB }',
    '    high_memory:',
    '      workers: 2',
    '      resources: { cpus: 4, memory: 64GB }',
    '    gpu:',
    '      workers: 1',
    '      resources: { cpus: 2, gpus: 1, memory: 16GB }',
    'analysis:',
    '  stages:',
  ]
  for (let i = 0; i < n; i++) {
    out.push(`    - id: S${i}`)
    out.push(`      op: ${ops[i % ops.length]}`)
    if (i > 0 && i % 25 === 0) out.push('      needs: []')
    else if (i >= 5 && i % 10 === 0) out.push(`      needs: [S${i - 1}, S${i - 5}]`)
    if (i === 1) out.push('      params: { selection: "nMuon >= 1" }')
    const exec: string[] = []
    if (i % 7 === 3) exec.push('        require: high_memory')
    else if (i % 13 === 5) exec.push('        prefer: gpu', '        fallback: default')
    if (i % 17 === 2) exec.push('        modifiers: [profile]')
    if (exec.length) out.push('      execution:', ...exec)
  }
  return `${out.join('\n')}\n`
}
