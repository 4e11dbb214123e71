import type { Metadata } from 'next'
import type { ReactNode } from 'react'
import './globals.css'
import { Providers } from './providers'
import { CredentialBadge } from '~/components/credentials/CredentialBadge'
import { THEME_SCRIPT, ThemeToggle } from '~/components/overview/ThemeToggle'

export const metadata: Metadata = {
  title: 'Control Room',
  description: 'Compose, dispatch and monitor FAST-HEP analysis workflows',
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    // the theme script sets data-theme before hydration: React must not warn about it
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: a constant script (no input): the stored theme before the first paint */}
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body>
        <a href="#main" className="skip-link">
          Skip to content
        </a>
        {/* the providers wrap the header too: the credential badge queries tRPC */}
        <Providers>
          <header className="topbar">
            <a href="/" className="brand">
              Control Room
            </a>
            <nav aria-label="Main">
              <a href="/compose">Compose</a>
              <a href="/workflows">Workflows</a>
              <a href="/runs">Runs</a>
            </nav>
            <div className="topbar-right">
              <CredentialBadge />
              <ThemeToggle />
            </div>
          </header>
          <main id="main">{children}</main>
        </Providers>
      </body>
    </html>
  )
}
