'use client'
import type { ReactNode } from 'react'
import { TRPCReactProvider } from '~/components/trpc/client'

/** Client-side providers for every page (tRPC + TanStack Query). */
export function Providers({ children }: { children: ReactNode }) {
  return <TRPCReactProvider>{children}</TRPCReactProvider>
}
