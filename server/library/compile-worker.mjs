// Entry of a compile worker thread: registers tsx (as bin/controlroom.js does) so the compiler's
// TypeScript sources load, then runs ./compile-worker.ts.
import { register } from 'tsx/esm/api'

register()
await import('./compile-worker.ts')
