/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native and server-only packages stay out of the bundle: Next must not try to bundle them.
  serverExternalPackages: [
    'better-sqlite3',
    '@prisma/adapter-better-sqlite3',
    '@prisma/adapter-pg',
    'pg',
    'jsroot',
    '@prisma/schema-engine-wasm',
  ],
  // The composer compiles workflows in the browser; the same TypeScript runs on the server.
  typedRoutes: false,
  poweredByHeader: false,
  devIndicators: false,
}

export default nextConfig
