import { defineConfig } from 'vitest/config'
import { fileURLToPath } from 'node:url'

export default defineConfig({
  resolve: { alias: { '~': fileURLToPath(new URL('.', import.meta.url)) } },
  test: {
    include: [
      'server/**/*.test.ts',
      'components/**/*.test.ts',
      'app/**/*.test.ts',
      'scripts/**/*.test.ts',
      'bin/**/*.test.ts',
    ],
    exclude: ['node_modules/**', 'e2e/**', '.next/**', '.next-*/**', 'var/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real daemons (PostgreSQL, Slurm, Dask): keep files in separate forks.
    pool: 'forks',
  },
})
