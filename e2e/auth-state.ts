// Where the authenticated browser state of the e2e tests is kept (written by e2e/auth.setup.ts).
export const E2E_TOKEN = process.env.E2E_TOKEN ?? 'e2e-test-token-0123456789'
export const E2E_AUTH_STATE = 'var/e2e/.auth/state.json'
