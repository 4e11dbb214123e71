import type { Metadata } from 'next'
import type { ReactNode } from 'react'
import './globals.css'
import { Providers } from './providers'

export const metadata: Metadata = {
  title: 'Control Room',
  description: 'Compose, dispatch and monitor FAST-HEP analysis workflows',
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <a href="/" className="brand">Control Room</a>
          <nav>
            <a href="/compose">Compose</a>
            <a href="/workflows">Workflows</a>
            <a href="/runs">Runs</a>
          </nav>
        </header>
        <main>
          <Providers>{children}</Providers>
        </main>
      </body>
    </html>
  )
}
