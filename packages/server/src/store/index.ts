export { isUniqueViolation, isUuid, sqlState } from './db-errors.ts'
export { acquireDataDirLock, type DataDirLock } from './lockfile.ts'
export { MIGRATIONS_FOLDER } from './migrate.ts'
export { type Db, type OpenStoreOptions, openStore, type Schema, type Store } from './open-store.ts'
export * from './schema.ts'
export {
  type AccessCode,
  type EventRow,
  events,
  type Gateway,
  gateways,
  type Lock,
  lockCommands,
  locks,
  organizations,
  permissions,
  uniqueCodes,
} from './schema.ts'
