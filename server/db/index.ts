export { getDb, createDb, setDb, forgetDb, resetDb, migrateDatabase, dbProvider, currentDbUrl } from './client.ts'
export type {
  Db,
  DbTx,
  Provider,
  User,
  Workflow,
  WorkflowVersion,
  Run,
  Task,
  Worker,
  Event,
  LogChunk,
  Artifact,
} from './client.ts'
export { migrate, checksumOf, readMigrationFolders, migrationsDirFor, appRoot } from './migrate.ts'
export { databaseUrl, defaultDatabaseUrl, controlroomHome, providerOf, redactUrl } from './url.ts'
