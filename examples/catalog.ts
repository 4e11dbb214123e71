/**
 * Bundled example workflows (file names relative to this directory). No I/O here: the server
 * reads the files (server/examples.ts), the compiler stays pure.
 */
export interface ExampleEntry {
  id: string
  title: string
  description: string
  /** file name inside examples/ */
  file: string
}

export const EXAMPLES: ExampleEntry[] = [
  {
    id: 'local-quickstart',
    title: 'Local quickstart',
    description: 'A tiny workflow of shell stages that runs on this machine in a few seconds.',
    file: 'local-quickstart.yaml',
  },
  {
    id: 'heterogeneous',
    title: 'Heterogeneous pools',
    description: 'BuildIndex on high-memory workers, TrainModel on a GPU, ProducePlots on the default pool.',
    file: 'heterogeneous.yaml',
  },
  {
    id: 'fasthep-flow',
    title: 'fasthep-flow form',
    description:
      'Resource classes, pools naming classes, prefer/fallback, modifiers, timeouts, credentials and a packed Pixi environment.',
    file: 'fasthep-flow.yaml',
  },
  {
    id: 'dask-slurm',
    title: 'Dask on Slurm',
    description: 'Per-pool Dask workers started as Slurm jobs (partition, account, walltime).',
    file: 'dask-slurm.yaml',
  },
  {
    id: 'dask-htcondor',
    title: 'Dask on HTCondor',
    description: 'Per-pool Dask workers started as HTCondor jobs (JobFlavour queue, requirements, X509 proxy).',
    file: 'dask-htcondor.yaml',
  },
  {
    id: 'hep-zmumu',
    title: 'HEP: Z→μμ plots',
    description:
      'Generates its own Z→μμ events, then hep.define / hep.select / hep.hist in 4 partitions: dimuon mass and muon pT plots with a cutflow.',
    file: 'hep-zmumu.yaml',
  },
  {
    id: 'large-500',
    title: '500 stages',
    description: 'A generated 500-stage workflow with fan-in and fan-out, for speed.',
    file: 'large-500.yaml',
  },
]

/** Alias kept for callers that prefer the lower-case name. */
export const examples = EXAMPLES

export const DEFAULT_EXAMPLE_ID = 'local-quickstart'
