/**
 * The op registry: how a stage's `op` becomes something a task runs.
 *
 * Built in: `noop` (in-process by default: no process at all), `shell`, `python`.
 * `custom.*`: declared in the workflow under `registry.ops` as `{command: [...] | "string"}` (with
 * `{param}` values passed as data: server/execution/placeholders.ts) or `{python: 'module:function'}` (called with the
 * stage params as keyword arguments).
 * Other op families register themselves with `registerOp` / `registerOpFamily` when loaded; the
 * installed ones (ops/installed.ts, e.g. `hep.*`) are loaded by `loadOpFamilies` for a plan that uses them:
 *
 *     registerOp({ name: 'hep.select', resolve: (ctx) => ({ argv: [...] }) })
 *
 * An op that resolves to nothing is refused before dispatch (`checkOps`), never at run time.
 */
import type { ProblemCode } from '../workflow/problem-codes.ts'
import { processSingleton } from '../singleton.ts'
import path from 'node:path'
import type { ExecutionPlan, OpSpec, PlanStage } from '../workflow/types.ts'
import { pythonShim } from './paths.ts'
import { PLACEHOLDER, PlaceholderError, substituteArg, substituteArgv, substituteShell } from './placeholders.ts'
import type { TaskModule } from './types.ts'
import { readSetting } from '../settings.ts'
import { INSTALLED_OP_FAMILIES } from './ops/installed.ts'

export interface OpContext {
  plan: ExecutionPlan
  stage: PlanStage
  runId: string
  taskId: string
  runDir: string
  taskDir: string
  attempt: number
  /** the partition this task processes (null: the whole stage) */
  partition: { key: string; index: number; data?: Record<string, unknown> } | null
}

export interface OpResolution {
  /** empty + inProcess: nothing to execute (noop) */
  argv: string[]
  env?: Record<string, string>
  cwd?: string
  /** executed in the engine's process, no task process */
  inProcess?: boolean
  /** a JS module task (argv empty): run in a warm executor process (types.ts TaskModuleSchema) */
  module?: TaskModule
}

export interface OpDefinition {
  name: string
  description?: string
  /** a reason the stage cannot run (checked before dispatch), or null */
  check?(stage: PlanStage, plan: ExecutionPlan): string | null
  resolve(ctx: OpContext): OpResolution
}

export class OpError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OpError'
  }
}

const registry = processSingleton('execution.ops', () => new Map<string, OpDefinition>())
/** prefix resolvers, e.g. `hep.` -> (name) => definition */
const families = processSingleton(
  'execution.opFamilies',
  () => new Map<string, (name: string) => OpDefinition | null>(),
)

export function registerOp(def: OpDefinition): void {
  registry.set(def.name, def)
}

/** register every op starting with `prefix` (e.g. `hep.`) through one resolver */
export function registerOpFamily(prefix: string, resolver: (name: string) => OpDefinition | null): void {
  families.set(prefix, resolver)
}

/**
 * Loads the installed op families (ops/installed.ts) whose ops this plan uses, so that they are
 * registered before the plan is checked or its tasks resolved. Loading is once per process.
 */
export async function loadOpFamilies(plan: Pick<ExecutionPlan, 'stages'>): Promise<void> {
  const wanted = INSTALLED_OP_FAMILIES.filter(
    (f) => !families.has(f.prefix) && plan.stages.some((s) => s.op.startsWith(f.prefix)),
  )
  await Promise.all(wanted.map((f) => f.load()))
}

export function registeredOps(): string[] {
  return [...registry.keys()].sort()
}

function stringEnv(v: unknown, what: string): Record<string, string> {
  if (v == null) return {}
  if (typeof v !== 'object' || Array.isArray(v)) throw new OpError(`${what} must be a map of variables`)
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v as Record<string, unknown>))
    out[k] = typeof x === 'string' ? x : JSON.stringify(x)
  return out
}

function resolveCwd(cwd: unknown): string | undefined {
  if (cwd == null || cwd === '') return undefined
  if (typeof cwd !== 'string') throw new OpError('params.cwd must be a string')
  return path.resolve(cwd)
}

/** the worker environment's Python: execution.config.python, environment.python, site default, /usr/bin/python3 */
export function pythonFor(plan: ExecutionPlan): string {
  const c = plan.config?.python ?? (plan.environment as Record<string, unknown> | undefined)?.python
  return typeof c === 'string' && c ? c : readSetting('CONTROLROOM_PYTHON')
}

function pythonPathEnv(plan: ExecutionPlan, params: Record<string, unknown>): Record<string, string> {
  const pp = params.pythonpath ?? plan.config?.pythonpath
  if (pp == null) return {}
  const list = Array.isArray(pp) ? pp.map(String) : [String(pp)]
  return { CONTROLROOM_PYTHONPATH: list.map((p) => path.resolve(p)).join(path.delimiter) }
}

function pythonArgv(
  plan: ExecutionPlan,
  target: { module?: string; script?: string },
  args: unknown,
  kwargs: unknown,
): string[] {
  const py = pythonFor(plan)
  if (target.module) {
    return [
      py,
      pythonShim(),
      'call',
      target.module,
      JSON.stringify({ args: Array.isArray(args) ? args : args == null ? [] : [args], kwargs: kwargs ?? {} }),
    ]
  }
  const argList = Array.isArray(args)
    ? args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a)))
    : args == null
      ? []
      : [String(args)]
  return [py, pythonShim(), 'script', path.resolve(target.script!), ...argList]
}

const noop: OpDefinition = {
  name: 'noop',
  description: 'does nothing (in the engine process unless execution.config.noop is "process")',
  resolve: (ctx) => ({ argv: [], inProcess: ctx.plan.config?.noop !== 'process' }),
}

const shell: OpDefinition = {
  name: 'shell',
  description: 'params.argv: [...] or params.command: "string" (run by /bin/sh -c) or [...]; env; cwd',
  check(stage) {
    const p = stage.params ?? {}
    if (Array.isArray(p.argv) && p.argv.length > 0) return null
    if (typeof p.command === 'string' && p.command.trim()) return null
    if (Array.isArray(p.command) && p.command.length > 0) return null
    return `stage '${stage.id}': op shell needs params.argv (a list) or params.command (a string or list)`
  },
  resolve({ stage }) {
    const p = stage.params ?? {}
    let argv: string[]
    if (Array.isArray(p.argv)) argv = p.argv.map(String)
    else if (Array.isArray(p.command)) argv = p.command.map(String)
    else if (typeof p.command === 'string') argv = ['/bin/sh', '-c', p.command]
    else throw new OpError(`stage '${stage.id}': op shell needs params.argv or params.command`)
    return { argv, env: stringEnv(p.env, 'params.env'), cwd: resolveCwd(p.cwd) }
  },
}

const python: OpDefinition = {
  name: 'python',
  description: "params.module (or function): 'pkg.mod:function' or params.script: path; args, kwargs; env; cwd",
  check(stage) {
    const p = stage.params ?? {}
    const mod = p.module ?? p.function
    if (typeof mod === 'string' && /^[A-Za-z_][\w.]*:[A-Za-z_]\w*$/.test(mod)) return null
    if (typeof mod === 'string') return `stage '${stage.id}': python op target '${mod}' is not 'module:function'`
    if (typeof p.script === 'string' && p.script) return null
    return `stage '${stage.id}': op python needs params.module ('pkg.mod:function') or params.script`
  },
  resolve({ plan, stage }) {
    const p = stage.params ?? {}
    const mod = (p.module ?? p.function) as string | undefined
    const argv = pythonArgv(plan, mod ? { module: mod } : { script: String(p.script) }, p.args, p.kwargs)
    return { argv, env: { ...stringEnv(p.env, 'params.env'), ...pythonPathEnv(plan, p) }, cwd: resolveCwd(p.cwd) }
  },
}

registerOp(noop)
registerOp(shell)
registerOp(python)

// ------------------------------------------------------------------ custom ops (registry.ops)

/** the registry entry of a custom op: `custom.x` may be declared as `custom.x` or `x` */
export function customOpSpec(plan: ExecutionPlan, op: string): OpSpec | null {
  const ops = plan.registry?.ops ?? {}
  return ops[op] || (op.startsWith('custom.') ? ops[op.slice(7)] : undefined) || null
}

function builtinValues(ctx: OpContext): Record<string, string> {
  return {
    run_id: ctx.runId,
    task_id: ctx.taskId,
    run_dir: ctx.runDir,
    task_dir: ctx.taskDir,
    stage: ctx.stage.id,
    attempt: String(ctx.attempt),
    partition: ctx.partition?.key ?? '',
    partition_index: String(ctx.partition?.index ?? 0),
  }
}
const BUILTIN_PLACEHOLDERS = new Set([
  'run_id',
  'task_id',
  'run_dir',
  'task_dir',
  'stage',
  'attempt',
  'partition',
  'partition_index',
])

/** `{param}` substitution in one piece of text (see placeholders.ts: shell text gets variables) */
export function substitute(template: string, values: Record<string, unknown>): string {
  try {
    return substituteArg(template, values)
  } catch (e) {
    throw new OpError((e as Error).message)
  }
}

function filled<T>(f: () => T): T {
  try {
    return f()
  } catch (e) {
    if (e instanceof PlaceholderError) throw new OpError(e.message)
    throw e
  }
}

function customDefinition(name: string, spec: OpSpec): OpDefinition {
  return {
    name,
    check(stage) {
      if (spec.command == null && spec.python == null) return `op '${name}' is declared without command or python`
      const cmd = spec.command
      const texts = cmd == null ? [] : Array.isArray(cmd) ? cmd.map(String) : [String(cmd)]
      for (const t of texts)
        for (const m of t.matchAll(PLACEHOLDER))
          if (!BUILTIN_PLACEHOLDERS.has(m[1]!) && !(m[1]! in (stage.params ?? {})))
            return `stage '${stage.id}': op '${name}' uses {${m[1]}} but the stage has no param '${m[1]}'`
      return null
    },
    resolve(ctx) {
      const params = ctx.stage.params ?? {}
      const values = { ...builtinValues(ctx), ...params }
      const env = stringEnv(spec.env, `registry.ops.${name}.env`)
      if (spec.command != null) {
        const cmd = spec.command
        const { argv, vars } = filled(() => {
          if (Array.isArray(cmd)) {
            const r = substituteArgv(cmd.map(String), values)
            return { argv: r.argv, vars: r.env }
          }
          const r = substituteShell(String(cmd), values)
          return { argv: ['/bin/sh', '-c', r.script], vars: r.env }
        })
        return { argv, env: { ...env, ...vars }, cwd: resolveCwd(spec.cwd) }
      }
      return {
        argv: pythonArgv(ctx.plan, { module: String(spec.python) }, [], params),
        env: { ...env, ...pythonPathEnv(ctx.plan, params) },
      }
    },
  }
}

/** the definition for an op of this plan, or null when it is not registered anywhere */
export function resolveOpDefinition(plan: ExecutionPlan, op: string): OpDefinition | null {
  const custom = customOpSpec(plan, op)
  if (custom) return customDefinition(op, custom)
  const builtin = registry.get(op)
  if (builtin) return builtin
  for (const [prefix, resolver] of families) if (op.startsWith(prefix)) return resolver(op)
  return null
}

/** problems that make a plan not runnable because of its ops (unregistered op, bad params) */
export function checkOps(plan: ExecutionPlan): { stage: string; message: string; code: ProblemCode }[] {
  const out: { stage: string; message: string; code: ProblemCode }[] = []
  for (const s of plan.stages) {
    const def = resolveOpDefinition(plan, s.op)
    if (!def) {
      out.push({
        stage: s.id,
        code: 'unregistered-op',
        message: `stage '${s.id}': op '${s.op}' is not registered (built in: ${registeredOps().join(', ')}; custom ops are declared under registry.ops)`,
      })
      continue
    }
    const why = def.check?.(s, plan)
    if (why) out.push({ stage: s.id, code: 'bad-op-params', message: why })
  }
  return out
}
