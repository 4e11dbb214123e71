/** Shapes of the overview.* procedures as the browser receives them (inferred from the router). */
import type { inferRouterOutputs } from '@trpc/server'
import type { AppRouter } from '~/server/api/root'

type Out = inferRouterOutputs<AppRouter>
export type OverviewRuns = Out['overview']['runs']
export type ActiveRun = OverviewRuns['active'][number]
export type Failure = OverviewRuns['failures'][number]
export type Credential = OverviewRuns['credentials'][number]
export type ClusterView = Out['overview']['cluster']
export type PoolFit = Extract<ClusterView['slurm'], { status: 'ok' }>['fits'][number]
