// Next.js calls register() once when a server instance starts, before it serves requests.
// Node.js runtime only: migrations and the rest of the start-up (server/startup.ts).
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { onServerStart } = await import('./server/startup')
    await onServerStart()
  }
}
