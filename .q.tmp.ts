import { benchEngine } from './bench/engine.bench.ts'
process.env.BENCH_ENGINE_REPS = '1'; process.env.BENCH_PROCESS_TASKS = '4'
console.log((await benchEngine()).join('\n'))
