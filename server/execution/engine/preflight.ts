/**
 * Problems that refuse a plan before anything is dispatched: ops the registry cannot resolve,
 * drivers that are not available, what the strategy and backend say of the pools (host capacity,
 * the batch system), and the credential policy.
 */
import { checkCredentials, credentialPolicyOf, estimateRunSeconds, redactSecrets } from '../../credentials/index.ts'
import type { ExecutionPlan } from '../../workflow/types.ts'
import { checkOps, loadOpFamilies } from '../ops.ts'
import { resolveDrivers } from '../registry.ts'
import type { Backend, PoolProblem, Strategy } from '../types.ts'
import type { EngineOptions } from './model.ts'

export async function preflight(opts: EngineOptions, plan: ExecutionPlan, runDir?: string): Promise<PoolProblem[]> {
  const problems: PoolProblem[] = []
  await loadOpFamilies(plan)
  for (const p of checkOps(plan))
    problems.push({
      code: p.code,
      severity: 'error',
      pool: plan.stages.find((s) => s.id === p.stage)?.pool ?? null,
      message: p.message,
    })
  let drivers: { backend: Backend; strategy: Strategy }
  try {
    drivers = resolveDrivers(plan.backend, plan.strategy)
  } catch (e) {
    problems.push({ code: 'driver-unavailable', severity: 'error', pool: null, message: (e as Error).message })
    return problems
  }
  const ctx = { runDir, host: opts.host }
  try {
    if (!drivers.backend.checksCapacity?.(plan)) problems.push(...(await drivers.strategy.preflight(plan, ctx)))
    if (drivers.backend.preflight) problems.push(...(await drivers.backend.preflight(plan, drivers.strategy, ctx)))
  } catch (e) {
    problems.push({
      code: 'preflight-failed',
      severity: 'error',
      pool: null,
      message: `preflight failed: ${(e as Error).message}`,
    })
  }
  const creds = await credentialProblems(opts, plan)
  // a strategy may check the credentials itself (htcondor): keep each problem once (the engine's)
  const ours = new Set(creds.map((p) => `${p.severity}\0${p.code}\0${p.rawMessage}`))
  return [
    ...problems.filter(
      (p) => !(p.code.startsWith('credential-') && ours.has(`${p.severity}\0${p.code}\0${p.message}`)),
    ),
    ...creds.map(({ rawMessage: _raw, ...p }) => p),
  ]
}

/**
 * The dispatch-time credential policy for every strategy: each credential the plan references
 * must exist and outlive the run's expected end. `refuse`: errors (the run is not started);
 * `warn`: warnings (stored as run events and shown on the run page).
 */
export async function credentialProblems(
  opts: EngineOptions,
  plan: ExecutionPlan,
): Promise<(PoolProblem & { rawMessage: string })[]> {
  if (!plan.credentials?.length) return []
  try {
    const mode = credentialPolicyOf(plan, opts.credentialPolicy, opts.credentialEnv ?? process.env)
    const check = await checkCredentials(plan, estimateRunSeconds(plan), {
      mode,
      ...(opts.credentialEnv ? { env: opts.credentialEnv } : {}),
    })
    return check.problems.map((p) => ({
      code: p.code,
      severity: p.severity,
      pool: null,
      message: redactSecrets(p.path && !p.message.includes(p.path) ? `${p.message} [${p.path}]` : p.message),
      rawMessage: p.message,
      ...(p.hint ? { hint: p.hint } : {}),
    }))
  } catch (e) {
    const message = `could not check the credentials: ${redactSecrets((e as Error).message)}`
    return [{ code: 'credential-check-failed', severity: 'warning', pool: null, message, rawMessage: message }]
  }
}
