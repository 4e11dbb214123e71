import type { Metadata } from 'next'
import type { ReactNode } from 'react'
import './globals.css'
import { Providers } from './providers'
import { CredentialBadge } from '~/components/credentials/CredentialBadge'

export const metadata: Metadata = {
  title: 'Control Room',
  description: 'Compose, dispatch and monitor FAST-HEP analysis workflows',
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        {/* the providers wrap the header too: the credential badge queries tRPC */}
        <Providers>
          <header className="topbar">
            <a href="/" className="brand">
              Control Room
            </a>
            <nav>
              <a href="/compose">Compose</a>
              <a href="/workflows">Workflows</a>
              <a href="/runs">Runs</a>
            </nav>
            <div className="topbar-right">
              <CredentialBadge />
            </div>
          </header>
          <main>{children}</main>
        </Providers>
      </body>
    </html>
  )
}
