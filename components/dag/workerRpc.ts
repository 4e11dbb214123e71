/**
 * One request/response helper for every Web Worker of the composer (the compiler and the layout),
 * after Dagster's WorkerThread: request ids, dispatch, error reporting and the main-thread fallback
 * are written once here instead of once per worker.
 *
 *   worker side:  serveWorker((req: Req) => handle(req))
 *   page side:    const rpc = workerClient(() => new Worker(new URL('./x.worker.ts', import.meta.url)), handle)
 *                 const res = await rpc.call(req)
 *
 * `handle` is the same pure function on both sides: when Workers are unavailable, or the worker
 * fails to load or throws, the call runs on the calling thread instead (so it still answers, with the
 * real error if the function throws).
 */

type Reply<Res> = { id: number; ok: true; value: Res } | { id: number; ok: false; error: string }

/** Worker side: answers every `{ id, req }` message with `handle(req)` (sync or async). */
export function serveWorker<Req, Res>(handle: (req: Req) => Res | Promise<Res>): void {
  const ctx = self as unknown as {
    onmessage: ((ev: MessageEvent<{ id: number; req: Req }>) => void) | null
    postMessage(m: Reply<Res>): void
  }
  ctx.onmessage = async (ev) => {
    const { id, req } = ev.data
    try {
      ctx.postMessage({ id, ok: true, value: await handle(req) })
    } catch (err) {
      ctx.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) })
    }
  }
}

export interface WorkerClient<Req, Res> {
  /** runs `req` in the worker (or on this thread if there is none) */
  call(req: Req): Promise<Res>
  /** whether calls currently go to a worker */
  readonly usesWorker: boolean
}

/**
 * Page side: a lazily started worker and a table of pending calls. A worker that fails to load is
 * terminated, its pending calls re-run on this thread, and every later call runs here too.
 */
export function workerClient<Req, Res>(
  start: () => Worker,
  fallback: (req: Req) => Res | Promise<Res>,
  name = 'worker',
): WorkerClient<Req, Res> {
  let worker: Worker | null | undefined
  let nextId = 1
  const pending = new Map<number, { req: Req; resolve: (r: Res) => void; reject: (e: Error) => void }>()

  const runHere = (req: Req): Promise<Res> => {
    try {
      return Promise.resolve(fallback(req))
    } catch (e) {
      return Promise.reject(e)
    }
  }

  function get(): Worker | null {
    if (worker !== undefined) return worker
    if (typeof window === 'undefined' || typeof Worker === 'undefined') return (worker = null)
    try {
      const w = start()
      w.onmessage = (ev: MessageEvent<Reply<Res>>) => {
        const p = pending.get(ev.data.id)
        if (!p) return
        pending.delete(ev.data.id)
        if (ev.data.ok) p.resolve(ev.data.value)
        else p.reject(new Error(ev.data.error))
      }
      w.onerror = (ev) => {
        console.warn(`[${name}] worker failed (${ev.message}); running on the main thread from now on`)
        w.terminate()
        worker = null
        const stranded = [...pending.values()]
        pending.clear()
        for (const p of stranded) runHere(p.req).then(p.resolve, p.reject)
      }
      worker = w
    } catch {
      worker = null
    }
    return worker
  }

  return {
    call(req) {
      const w = get()
      if (!w) return runHere(req)
      const id = nextId++
      return new Promise<Res>((resolve, reject) => {
        pending.set(id, { req, resolve, reject })
        w.postMessage({ id, req })
      })
    },
    get usesWorker() {
      return get() !== null
    },
  }
}
