'use client'
/**
 * "plan ok" means it can run on the chosen site: the YAML's pools checked by the server against
 * this host, the Slurm cluster's partitions or the Dask scheduler's workers (`plan.preview`, the
 * same request and cache as the Submission tab), as positioned problems for the Problems list.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import type { Problem } from '~/server/workflow'
import { useTRPCClient } from '~/components/trpc/client'
import { useDebounced } from '~/components/ui/useDebounced'
import { SUBMISSION_DEBOUNCE_MS } from './SubmissionPreview'

const MAX_CHECK_CHARS = 512 * 1024
const NONE: Problem[] = []

export interface SiteCheck {
  /** the site's problems for `source` (empty while checking or when the check is off) */
  problems: Problem[]
  /** the check for `source` has not answered yet */
  checking: boolean
}

/** `enabled`: the YAML compiles to a plan without errors (otherwise the compiler's problems say it) */
export function useSiteCheck(source: string, enabled: boolean): SiteCheck {
  const client = useTRPCClient()
  const yaml = useDebounced(source, SUBMISSION_DEBOUNCE_MS)
  const on = enabled && yaml.length <= MAX_CHECK_CHARS
  const q = useQuery({
    queryKey: ['plan.preview', yaml],
    queryFn: () => client.plan.preview.mutate({ yaml }),
    enabled: on,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    refetchOnWindowFocus: false,
  })
  if (!enabled || source.length > MAX_CHECK_CHARS) return { problems: NONE, checking: false }
  const current = yaml === source && q.data != null && !q.isPlaceholderData
  if (!current) return { problems: NONE, checking: !q.error || yaml !== source }
  return { problems: q.data.siteProblems, checking: false }
}
