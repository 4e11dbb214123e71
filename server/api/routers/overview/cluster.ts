/** overview.cluster: Slurm partitions and pending jobs, HTCondor slots, existing Dask clusters' workers, beside the pools our workflows ask for */
import { z } from 'zod'
import { clusterView } from '../../../operations/cluster.ts'
import { protectedProcedure } from '../../trpc.ts'
import { poolFitSchema, unavailableSchema } from './schemas.ts'

const slurm = z.object({
  status: z.literal('ok'),
  partitions: z.array(
    z.object({
      name: z.string(),
      isDefault: z.boolean(),
      available: z.string(),
      nodes: z.number(),
      idle: z.number(),
      mixed: z.number(),
      allocated: z.number(),
      other: z.number(),
      cpus: z.number(),
      memoryMiB: z.number(),
      gpus: z.number(),
      features: z.array(z.string()),
    }),
  ),
  pending: z.array(
    z.object({
      jobId: z.string(),
      name: z.string(),
      user: z.string(),
      partition: z.string(),
      reason: z.string(),
      reasonText: z.string(),
      cpus: z.number(),
      memory: z.string(),
      submitted: z.string().nullable(),
    }),
  ),
  defaultPartition: z.string().nullable(),
  fits: z.array(poolFitSchema),
})

const htcondor = z.object({
  status: z.literal('ok'),
  slots: z.array(
    z.object({
      name: z.string(),
      machine: z.string(),
      state: z.string(),
      activity: z.string(),
      partitionable: z.boolean(),
      cpus: z.number(),
      memoryMiB: z.number(),
      gpus: z.number(),
    }),
  ),
  byState: z.record(z.string(), z.number()),
  cpus: z.number(),
  memoryMiB: z.number(),
  gpus: z.number(),
  fits: z.array(poolFitSchema),
})

const daskWorker = z.object({
  name: z.string(),
  host: z.string().nullable(),
  cpus: z.number().nullable(),
  gpus: z.number(),
  memoryBytes: z.number().nullable(),
  pools: z.array(z.string()),
})

const daskSite = z.discriminatedUnion('status', [
  z.object({
    address: z.string(),
    status: z.literal('ok'),
    workers: z.array(daskWorker),
    fits: z.array(poolFitSchema),
  }),
  unavailableSchema.extend({ address: z.string(), fits: z.array(poolFitSchema) }),
])

const output = z.object({
  checkedAt: z.string(),
  slurm: z.discriminatedUnion('status', [slurm, unavailableSchema]),
  htcondor: z.discriminatedUnion('status', [htcondor, unavailableSchema]),
  dask: z.array(daskSite),
  host: z.object({ cpus: z.number(), memoryMiB: z.number(), gpus: z.number(), fits: z.array(poolFitSchema) }),
})

export const overviewCluster = protectedProcedure
  .input(z.object({ fresh: z.boolean().optional() }).strict().optional())
  .output(output)
  .query(({ ctx, input }) => clusterView(ctx.db, { fresh: input?.fresh ?? false }))
