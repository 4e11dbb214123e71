/// <reference lib="webworker" />
// Re-plans workflows off the main thread: typing in a 2,000-stage workflow never waits for the compiler.
import { serveWorker } from '../dag/workerRpc'
import { compileTimed } from './compileTimed'

serveWorker(compileTimed)
