export {
  type CreateOwnerOptions,
  countOrganizations,
  createOwner,
  DEFAULT_LOGIN_THROTTLE,
  type LoginThrottleConfig,
  parseSignupMode,
  type SignupMode,
} from './accounts/index.ts'
export { API_PREFIX, type BuildAppOptions, buildApp } from './app.ts'
export type { ServerDeps } from './context.ts'
export {
  DEMO_CALENDAR_PATH,
  DEMO_EMAIL,
  DEMO_LOCKS,
  DEMO_MATTER_LOCK,
  type DemoData,
  type DemoLock,
  type DemoMatterLockInput,
  type DemoSeedOptions,
  demoCalendarFeed,
  replaceDemoLock,
  seedDemo,
  seedDemoMatterLock,
  seedDemoProperty,
} from './demo/index.ts'
export type { LockChannel, LockReply, SendOptions, StoredLockEvents } from './devices/index.ts'
export { DEFAULT_EMBEDDED_MQTT_PORT } from './devices/index.ts'
export { MetricsRegistry } from './http/index.ts'
export { humanLine, humanLogger } from './human-log.ts'
export { forecastNoSlots, type PlannedCode, type PlanOptions, planLock } from './reconciler/index.ts'
export { createSecrets, loadSecrets, type Secrets } from './secrets.ts'
export {
  DEFAULT_HOST,
  DEFAULT_PORT,
  matterStoragePath,
  type RunningServer,
  type StartedParts,
  type StartServerOptions,
  startServer,
} from './serve.ts'
export * from './store/index.ts'
