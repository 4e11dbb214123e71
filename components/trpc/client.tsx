'use client'
/**
 * The browser's tRPC client: `useTRPC()` gives typed query/mutation options for TanStack Query.
 *
 *   const trpc = useTRPC()
 *   const q = useQuery(trpc.workflow.get.queryOptions({ id }))
 *   const save = useMutation(trpc.workflow.saveVersion.mutationOptions())
 *   useSubscription(trpc.run.events.subscriptionOptions({ runId }, { onData }))   // SSE
 *
 * Queries and mutations go through httpBatchLink (GET / JSON POST), subscriptions through
 * httpSubscriptionLink (Server-Sent Events); both use superjson (Dates survive).
 * The access cookie is sent automatically (same origin).
 */
import { useState, type ReactNode } from 'react'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, TRPCClientError } from '@trpc/client'
import { createTRPCContext } from '@trpc/tanstack-react-query'
import superjson from 'superjson'
import type { AppRouter } from '~/server/api/root'

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>()

function trpcUrl(): string {
  if (typeof window !== 'undefined') return '/api/trpc'
  // the PORT setting (server/settings.ts), read directly: settings.ts needs node:path, and this
  // module is also bundled for the browser (where this line never runs)
  return `http://127.0.0.1:${process.env.PORT ?? 3000}/api/trpc`
}

/** HTTP status of a tRPC error (401, 409, ...), or null. */
export function httpStatusOf(error: unknown): number | null {
  if (error instanceof TRPCClientError) {
    const s = (error.data as { httpStatus?: number } | undefined)?.httpStatus
    if (typeof s === 'number') return s
    const m = /\b(401|403|413|415)\b/.exec(error.message)
    if (m) return Number(m[1])
  }
  return null
}

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: false,
        // client errors (bad input, not found, unauthorised) are not retried
        retry: (count, error) => {
          const s = httpStatusOf(error)
          if (s !== null && s >= 400 && s < 500) return false
          return count < 2
        },
      },
    },
  })
}

let browserQueryClient: QueryClient | undefined
function getQueryClient() {
  if (typeof window === 'undefined') return makeQueryClient()
  return (browserQueryClient ??= makeQueryClient())
}

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const queryClient = getQueryClient()
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({ url: trpcUrl(), transformer: superjson }),
          false: httpBatchLink({ url: trpcUrl(), transformer: superjson, maxURLLength: 4000 }),
        }),
      ],
    }),
  )
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  )
}
