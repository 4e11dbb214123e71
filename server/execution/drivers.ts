/**
 * The one place where optional drivers are loaded: each import registers a Backend or Strategy
 * with `registry.ts` (backend `local` and strategy `local` are built in). Add a line per driver.
 */
import './registry.ts'
import './strategies/slurm/index.ts'
import './strategies/htcondor/index.ts'
import './backends/dask.ts'
