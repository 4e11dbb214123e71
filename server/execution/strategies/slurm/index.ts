/**
 * Registers strategy `slurm` with the driver registry. Imported once from server/execution/drivers.ts:
 *     import './strategies/slurm/index.ts'
 */
import { registerStrategy } from '../../registry.ts'
import { SlurmStrategy } from '../slurm.ts'

registerStrategy('slurm', () => new SlurmStrategy())

export { SlurmStrategy, createSlurmStrategy, slurmStrategy } from '../slurm.ts'
export { renderPoolPreview, renderJobScript, poolDirectives } from './script.ts'
export { SlurmJobs } from './jobs.ts'
