/** Shared steps of the run e2e tests: save a workflow through the API, start it with the Run button. */
import { expect, type APIRequestContext, type Page } from '@playwright/test'

/** saves a new workflow through the tRPC HTTP API; returns its id and head version id */
export async function saveWorkflow(
  request: APIRequestContext,
  yaml: string,
  message = 'e2e run test',
): Promise<{ workflowId: string; versionId: string }> {
  const res = await request.post('/api/trpc/workflow.saveVersion', {
    data: { json: { yaml, message } },
    headers: { 'content-type': 'application/json' },
  })
  expect(res.ok(), await res.text()).toBe(true)
  const body = (await res.json()) as {
    result: { data: { json: { workflow: { id: string }; version: { id: string; valid: boolean } } } }
  }
  const saved = body.result.data.json
  expect(saved.version.valid).toBe(true)
  return { workflowId: saved.workflow.id, versionId: saved.version.id }
}

/** from the workflow's run history page, press Run; returns the new run's id */
export async function startFromUi(page: Page, workflowId: string): Promise<string> {
  await page.goto(`/runs?workflow=${workflowId}`)
  const button = page.getByTestId('start-run-button')
  await expect(button).toBeEnabled()
  await button.click()
  await page.waitForURL(/\/runs\/[^/?]+$/, { timeout: 30_000 })
  const runId = new URL(page.url()).pathname.split('/').pop()!
  await expect(page.getByTestId('run-page')).toBeVisible()
  return runId
}
