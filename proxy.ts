// Next 16 "proxy" (formerly middleware; runs on the Node.js runtime): the access check in front of
// every route. See server/auth/gate.ts. Public: /api/health and static build assets.
import type { NextRequest } from 'next/server'
import { gate } from './server/auth/gate.ts'

export function proxy(request: NextRequest) {
  return gate(request)
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon\\.ico|robots\\.txt|api/health).*)'],
}
