/** @type {import('next').NextConfig} */
const nextConfig = {
  // A second build directory lets a test build run beside a served one (NEXT_DIST_DIR=.next-test).
  distDir: process.env.NEXT_DIST_DIR || '.next',
  // Native and server-only packages stay out of the bundle: Next must not try to bundle them.
  serverExternalPackages: [
    'better-sqlite3',
    '@prisma/adapter-better-sqlite3',
    '@prisma/adapter-pg',
    'pg',
    'jsroot',
    '@resvg/resvg-js',
    '@prisma/schema-engine-wasm',
  ],
  // The composer compiles workflows in the browser; the same TypeScript runs on the server.
  typedRoutes: false,
  // `npm test` type-checks the whole project (tsc --noEmit) as its own suite; the build need not repeat it.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  devIndicators: false,
}

export default nextConfig
