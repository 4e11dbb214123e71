/**
 * Runs before every other e2e test (project "auth-setup" in playwright.config.ts): opens the app
 * with `?token=` like a user clicking the URL printed at start, checks the server answered with a
 * clean URL and an http-only SameSite=Strict cookie, and saves the browser state that every other
 * test starts from (so all tests are authenticated).
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { expect, test as setup } from '@playwright/test'
import { E2E_AUTH_STATE, E2E_TOKEN } from './auth-state'

setup('authenticate with the access token', async ({ page }) => {
  const res = await page.goto(`/?token=${E2E_TOKEN}`)
  expect(res?.ok(), 'the app answered after the token redirect').toBe(true)
  await expect(page).toHaveURL((u) => !u.searchParams.has('token'))
  const cookies = await page.context().cookies()
  const auth = cookies.find((c) => c.name.startsWith('cr_auth_'))
  expect(auth, 'access cookie').toBeTruthy()
  expect(auth!.httpOnly).toBe(true)
  expect(auth!.sameSite).toBe('Strict')
  expect(auth!.value).not.toContain(E2E_TOKEN)
  mkdirSync(path.dirname(E2E_AUTH_STATE), { recursive: true })
  await page.context().storageState({ path: E2E_AUTH_STATE })
})
