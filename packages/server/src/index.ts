export { DEFAULT_LOGIN_THROTTLE, type LoginThrottleConfig } from './accounts/throttle.ts'
export { API_PREFIX, type BuildAppOptions, buildApp } from './app.ts'
export type { ServerDeps } from './context.ts'
export { DEMO_CALENDAR_PATH, demoCalendarFeed, seedDemoProperty } from './demo/property.ts'
export {
  DEMO_EMAIL,
  DEMO_LOCKS,
  type DemoData,
  type DemoLock,
  type DemoSeedOptions,
  replaceDemoLock,
  seedDemo,
} from './demo/seed.ts'
export type { LockChannel, LockReply, SendOptions, StoredLockEvents } from './devices/lock-channel.ts'
export { DEFAULT_EMBEDDED_MQTT_PORT } from './devices/server-mqtt.ts'
export { MetricsRegistry } from './http/metrics.ts'
export { forecastNoSlots, type PlannedCode, type PlanOptions, planLock } from './reconciler/plan.ts'
export { createSecrets, loadSecrets, type Secrets } from './secrets.ts'
export {
  DEFAULT_HOST,
  DEFAULT_PORT,
  type RunningServer,
  type StartedParts,
  type StartServerOptions,
  startServer,
} from './serve.ts'
export * from './store/index.ts'
