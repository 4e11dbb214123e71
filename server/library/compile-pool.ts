/**
 * Compiling workflow text that a user sent (save, import, plan preview) happens here: in a small
 * pool of worker threads, each job under a time budget and each worker under a memory limit, so
 * one hostile document (an alias bomb, a flood of syntax errors) cannot stall the server or grow
 * its memory. A job over its budget gets its worker terminated (and replaced) and answers with a
 * positioned `compile-budget` error instead of a plan.
 *
 * The worker runs the TypeScript sources through tsx (a dependency: the CLI uses it too), from
 * the source tree (CONTROLROOM_APP_ROOT or the working directory when bundled by Next).
 */
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { DomainError } from '../errors.ts'
import type { CompileOptions, CompileResult, Problem } from '../workflow/types.ts'
import { readSetting } from '../settings.ts'
import { processSingleton } from '../singleton.ts'

/** wall-clock budget of one compile (the save answers within ~2 s even when it runs out) */
export const COMPILE_BUDGET_MS = readSetting('CONTROLROOM_COMPILE_BUDGET_MS')
/** heap of one compile worker */
const WORKER_HEAP_MB = 256
const POOL_SIZE = Math.max(1, Math.min(2, (os.availableParallelism?.() ?? os.cpus().length) - 1))
/**
 * Workers kept: one more than run at once, so that when a job over its budget has its worker
 * terminated, the next job is compiled by a loaded spare instead of waiting for the replacement to
 * load the compiler (which takes seconds on a loaded host and would push that save past 2 s).
 */
const SLOTS = POOL_SIZE + 1

/** the TypeScript entry (through tsx): always there, slower to load */
function sourceEntry(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const local = path.join(/*turbopackIgnore: true*/ here, 'compile-worker.mjs')
  if (existsSync(local)) return local
  return path.join(
    /*turbopackIgnore: true*/ readSetting('CONTROLROOM_APP_ROOT'),
    'server',
    'library',
    'compile-worker.mjs',
  )
}

/**
 * Next's bundler reads `import(x)` and `new Worker(x)` as references to modules to bundle: with an x
 * it cannot follow (a path found at run time) it bundles every file of the project, tests and
 * var/ included, and the build fails. The builder is imported, and the worker constructed, through
 * calls it does not read as such (`Reflect.construct` below).
 */
const importAtRuntime = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>

/** the esbuild bundle (build-compile-worker.mjs), once warm() found or built a fresh one */
let bundled: string | null = null

function workerScript(): string {
  return bundled ?? sourceEntry()
}

/** builds the bundle when missing or stale; on failure the workers load the TypeScript sources */
async function ensureBundle(): Promise<void> {
  try {
    const builder = path.join(path.dirname(sourceEntry()), 'build-compile-worker.mjs')
    const mod = (await importAtRuntime(pathToFileURL(builder).href)) as {
      ensureCompileWorker: () => Promise<string>
    }
    bundled = await mod.ensureCompileWorker()
  } catch {
    bundled = null
  }
}

interface Job {
  id: number
  source: string
  options: CompileOptions
  resolve: (r: CompileResult) => void
}

interface Slot {
  worker: Worker
  job: Job | null
  timer: NodeJS.Timeout | null
  ready: Promise<void>
  /** the worker has loaded the compiler */
  loaded: boolean
}

function budgetProblem(message: string): Problem {
  const zero = { line: 1, col: 1, offset: 0 }
  return {
    code: 'compile-budget',
    severity: 'error',
    message,
    hint: 'the text is too expensive to compile (aliases that expand to huge trees, deep nesting, or thousands of syntax errors): simplify it',
    range: { start: zero, end: zero },
    path: [],
  }
}

/** a crash of the compiler on this text: too deep a nesting is the user's to fix, and says where */
function crashed(crash: string, source: string): CompileResult {
  if (!/Maximum call stack size exceeded/i.test(crash)) return failed(`the compiler failed unexpectedly: ${crash}`)
  const at = deepestAt(source)
  const r = failed(
    `the workflow nests too deeply to compile (more than ${NESTING_SHOWN} levels of brackets or indentation${at ? `, from line ${at.line}, column ${at.col}` : ''})`,
  )
  const p = r.problems[0]!
  p.code = 'yaml-nesting'
  p.hint = 'a workflow needs a few levels of nesting: flatten this structure'
  if (at) p.range = { start: at, end: at }
  return r
}

/** the compiler reports its own stack overflow as an internal error: it is the text's nesting */
function overflowed(r: CompileResult, source: string): CompileResult {
  const p = r.problems.find((x) => x.code === 'internal-error' && /Maximum call stack size exceeded/i.test(x.message))
  return p ? crashed(p.message, source) : r
}

const NESTING_SHOWN = 1000

/** where bracket nesting first passes NESTING_SHOWN levels (quotes ignored: a rough, linear scan) */
function deepestAt(source: string): { line: number; col: number; offset: number } | null {
  let depth = 0
  let line = 1
  let col = 1
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '\n') {
      line++
      col = 1
      continue
    }
    if (c === '[' || c === '{') depth++
    else if ((c === ']' || c === '}') && depth > 0) depth--
    if (depth > NESTING_SHOWN) return { line, col, offset: i }
    col++
  }
  return null
}

function failed(message: string): CompileResult {
  return { ok: false, plan: null, problems: [budgetProblem(message)], stageRanges: {} }
}

class CompilePool {
  private slots: Slot[] = []
  private queue: Job[] = []
  private nextId = 1

  compile(source: string, options: CompileOptions = {}): Promise<CompileResult> {
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, source, options, resolve })
      this.pump()
    })
  }

  private spawn(): Slot {
    const worker: Worker = Reflect.construct(Worker, [
      workerScript(),
      { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 32 } },
    ])
    const slot: Slot = {
      worker,
      job: null,
      timer: null,
      loaded: false,
      ready: new Promise((r) => {
        const onReady = (m: { ready?: boolean }) => {
          if (!m?.ready) return
          worker.off('message', onReady)
          slot.loaded = true
          r()
        }
        worker.on('message', onReady)
      }),
    }
    worker.on('message', (m: { id: number; result: CompileResult | { crash: string } }) => {
      if (!('result' in m)) return
      const job = slot.job
      if (!job || job.id !== m.id) return
      this.settle(slot)
      job.resolve(
        'crash' in m.result ? crashed(m.result.crash, job.source) : overflowed(m.result as CompileResult, job.source),
      )
      this.pump()
    })
    worker.on('error', (e) => this.lose(slot, `the compiler stopped: ${(e as Error).message}`))
    worker.on('exit', () => this.lose(slot, 'the compiler stopped unexpectedly'))
    // after the listeners: a 'message' listener refs the worker's port again, which kept a CLI alive
    worker.unref()
    return slot
  }

  private settle(slot: Slot) {
    slot.worker.unref()
    if (slot.timer) clearTimeout(slot.timer)
    slot.timer = null
    slot.job = null
  }

  /** the slot's worker is gone (terminated on budget, out of memory, crashed): answer and replace it */
  private lose(slot: Slot, message: string) {
    const i = this.slots.indexOf(slot)
    if (i < 0) return
    this.slots.splice(i, 1)
    const job = slot.job
    this.settle(slot)
    job?.resolve(failed(message))
    void slot.worker.terminate()
    // a replacement loads now (a spare is kept loaded, so the next job does not wait for it)
    while (this.slots.length < SLOTS) this.slots.push(this.spawn())
    this.pump()
  }

  /** Starts the workers (they load the compiler) and resolves when they can take jobs. */
  async warm(): Promise<void> {
    if (!bundled) await ensureBundle()
    while (this.slots.length < SLOTS) this.slots.push(this.spawn())
    await Promise.all(this.slots.map((s) => s.ready))
  }

  private pump() {
    while (this.queue.length) {
      // at most POOL_SIZE compiles at once; a loaded idle worker first (a killed one's replacement
      // may still be loading the compiler)
      if (this.slots.filter((x) => x.job).length >= POOL_SIZE) return
      let slot = this.slots.find((x) => !x.job && x.loaded) ?? this.slots.find((x) => !x.job)
      if (!slot) {
        slot = this.spawn()
        this.slots.push(slot)
      }
      const job = this.queue.shift()!
      slot.job = job
      // a worker with a job keeps the process alive (a CLI awaits it); an idle one does not
      slot.worker.ref()
      const s = slot
      // the budget starts when the worker can take the job (a fresh worker first loads the compiler)
      void s.ready.then(() => {
        if (s.job !== job) return
        s.timer = setTimeout(() => {
          const seconds = (COMPILE_BUDGET_MS / 1000).toFixed(1)
          this.lose(s, `the workflow could not be compiled within ${seconds} s`)
        }, COMPILE_BUDGET_MS)
        s.worker.postMessage({ id: job.id, source: job.source, options: job.options })
      })
    }
  }
}

function pool(): CompilePool {
  return processSingleton('library.compilePool', () => new CompilePool())
}

/**
 * A process that compiles only text its own user gave it (the `controlroom` CLI, reading a file in
 * the user's own shell) compiles on its own thread: no worker to start (two compiler loads, seconds
 * of CPU on a loaded 2-core host, for a text it then compiles on this thread anyway). The compiler's
 * own caps (alias expansion, error count, result size) still apply.
 */
let onThisThread = false
export function compileOnThisThread(): void {
  onThisThread = true
}

/** Compile workflow text in the worker pool (bounded time and memory). */
export async function compileBounded(source: string, options: CompileOptions = {}): Promise<CompileResult> {
  if (onThisThread) {
    const { compileWorkflow } = await import('../workflow/index.ts')
    return overflowed(compileWorkflow(source, options), source)
  }
  return pool().compile(source, options)
}

/** Loads the compile workers ahead of the first save (server start). */
export function warmCompilePool(): Promise<void> {
  return pool().warm()
}

/**
 * For callers that then compile on their own thread (the plan preview): refuses, with TIMEOUT,
 * text that cannot be compiled within the budget.
 */
export async function assertCompilesInBudget(source: string): Promise<void> {
  const r = await compileBounded(source)
  const over = r.problems.find((p) => p.code === 'compile-budget')
  if (over) throw new DomainError('TIMEOUT', `${over.message}: ${over.hint}`)
}
