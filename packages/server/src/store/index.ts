export {
  isDatabaseUnreachable,
  isTransactionConflict,
  isUniqueViolation,
  isUuid,
  retryOnConflict,
  sqlState,
} from './db-errors.ts'
export { acquireDataDirLock, type DataDirLock } from './lockfile.ts'
export { MIGRATIONS_FOLDER } from './migrate.ts'
export { type Db, type OpenStoreOptions, openStore, type Schema, type Store } from './open-store.ts'
export { propertyIsLive, propertyLockIds } from './property-locks.ts'
export * from './schema.ts'
export {
  type AccessCode,
  type AccessCodeStatus,
  accessCodes,
  type Calendar,
  type CodeIssue,
  type CodeStrategy,
  calendars,
  type EventRow,
  events,
  type Lock,
  locks,
  type Property,
  properties,
  type Role,
  type Stay,
  type StayCodeSource,
  stays,
} from './schema.ts'
