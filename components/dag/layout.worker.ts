/// <reference lib="webworker" />
// Layout Web Worker: large graphs are laid out here so the main thread keeps painting and typing.
import { layoutGraphSync } from './layout'
import { serveWorker } from './workerRpc'

serveWorker(layoutGraphSync)
