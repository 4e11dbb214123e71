export type { SiteConfig, SiteConfigInput, SshSiteConfig, SlurmSiteConfig, SlurmPoolDefaults } from './schema.ts'
export { siteSchema } from './schema.ts'
export {
  loadSiteConfig,
  parseSiteConfig,
  resolveSiteConfig,
  defaultSiteConfig,
  siteConfigPath,
  controlroomHome,
  SiteConfigError,
  type SiteProblem,
  type LoadSiteOptions,
} from './load.ts'
