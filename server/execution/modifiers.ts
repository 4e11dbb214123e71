/**
 * Execution modifiers: registered capabilities applied to a task's spec before it runs.
 * A modifier may add environment, wrap the command, switch on runtime collectors
 * (profile, diagnostics) and record metadata. Add one with `registerModifier`.
 */
import { processSingleton } from '../singleton.ts'
import { existsSync } from 'node:fs'
import path from 'node:path'
import type { PlanPool, PlanStage } from '../workflow/types.ts'
import type { TaskSpec } from './types.ts'

export interface ModifierContext {
  spec: TaskSpec
  stage: PlanStage
  pool: PlanPool | undefined
  params: Record<string, unknown>
}

export interface ModifierDefinition {
  name: string
  description: string
  apply(ctx: ModifierContext): void
}

const registry = processSingleton('execution.modifiers', () => new Map<string, ModifierDefinition>())

export function registerModifier(def: ModifierDefinition): void {
  registry.set(def.name, def)
}
export function getModifier(name: string): ModifierDefinition | undefined {
  return registry.get(name)
}
export function registeredModifiers(): string[] {
  return [...registry.keys()].sort()
}

registerModifier({
  name: 'profile',
  description:
    'wall / CPU time and peak RSS of the command (sampled every 100 ms; exact for python ops); cprofile: true runs cProfile',
  apply({ spec, params }) {
    spec.collect.profile = true
    spec.collect.rssSampleMs = spec.collect.rssSampleMs ? Math.min(spec.collect.rssSampleMs, 100) : 100
    if (params.cprofile && spec.argv.length > 1 && /pyshim\.py$/.test(spec.argv[1]!)) {
      const out = typeof params.output === 'string' ? params.output : path.join(spec.taskDir, 'profile.pstats')
      spec.argv = [spec.argv[0]!, '-m', 'cProfile', '-o', out, ...spec.argv.slice(1)]
      spec.metadata.profileOutput = out
    }
  },
})

registerModifier({
  name: 'diagnostics',
  description: 'host, platform, versions and an environment summary (secrets dropped) in the result metrics',
  apply({ spec, params }) {
    spec.collect.diagnostics = true
    spec.collect.rssSampleMs = spec.collect.rssSampleMs || 200
    spec.metadata.diagnosticsLevel = params.level ?? 'basic'
  },
})

registerModifier({
  name: 'gpu.preload',
  description:
    "sets FASTHEP_GPU_PRELOAD=1, CONTROLROOM_GPU_PRELOAD=1 and CONTROLROOM_GPU_DEVICE in the task's environment; nothing else (the op decides)",
  apply({ spec, params }) {
    spec.env.FASTHEP_GPU_PRELOAD = '1'
    spec.env.CONTROLROOM_GPU_PRELOAD = '1'
    spec.env.CONTROLROOM_GPU_DEVICE = String(params.device ?? 0)
    spec.metadata.gpuPreload = { device: params.device ?? 0 }
  },
})

registerModifier({
  name: 'cuda.jit',
  description:
    "sets FASTHEP_CUDA_JIT=1 and CONTROLROOM_CUDA_JIT=1 (cache: true also NUMBA_CACHE_DIR=<run>/.numba-cache) in the task's environment; nothing else (the op decides)",
  apply({ spec, params }) {
    spec.env.FASTHEP_CUDA_JIT = '1'
    spec.env.CONTROLROOM_CUDA_JIT = '1'
    if (params.cache) spec.env.NUMBA_CACHE_DIR = path.join(spec.runDir, '.numba-cache')
    spec.metadata.cudaJit = { cache: !!params.cache }
  },
})

registerModifier({
  name: 'memory.limit',
  description: "the pool's memory as a hard address-space limit (prlimit --as) on the command",
  apply({ spec, pool }) {
    const bytes = pool?.resources.memoryBytes
    if (!bytes || spec.argv.length === 0) return
    const prlimit = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p))
    if (prlimit) spec.argv = [prlimit, `--as=${bytes}`, '--', ...spec.argv]
    spec.metadata.memoryLimitBytes = bytes
    spec.metadata.memoryLimitEnforced = !!prlimit
  },
})
