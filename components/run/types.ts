/** Shapes of the run.* procedures as the browser receives them (inferred from the router). */
import type { inferRouterOutputs } from '@trpc/server'
import type { AppRouter } from '~/server/api/root'

type Out = inferRouterOutputs<AppRouter>
export type RunDetail = Out['run']['get']
export type RunTaskRow = Out['run']['tasks']['items'][number]
export type RunListItem = Out['run']['list']['items'][number]
export type RunPoolInfo = RunDetail['pools'][number]
export type RunWorkerRow = RunPoolInfo['live'][number]
export type RunPreview = Out['run']['preview']
