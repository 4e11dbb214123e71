/**
 * The site check of `validate` and `plan`: the same check the composer runs before "plan ok"
 * (`plan.preview`): the pools checked against this host (strategy local), the Slurm cluster's
 * partitions, the HTCondor site or the Dask scheduler's workers, each problem placed at the YAML it
 * concerns with the composer's code and hint. main.ts installs it (`setSiteCheck`), so that the
 * commands themselves import nothing of the execution drivers.
 */
import type { Problem } from '../workflow/index.ts'

/** the site's problems for a workflow's YAML (the caller has compiled it to a plan without errors) */
export async function siteProblemsFor(text: string): Promise<Problem[]> {
  // loaded only when a command checks a site: it pulls in the execution drivers
  const { previewSubmissions } = await import('../execution/preview.ts')
  const preview = await previewSubmissions(text)
  // an op nobody registered is the compiler's `unknown-op` already, at the op (a warning, an error
  // with --for-run): the site check's `unregistered-op` would say it twice, at the document's start
  return preview.siteProblems.filter((p) => p.code !== 'unregistered-op')
}
