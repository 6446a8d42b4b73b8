export { DEMO_MATTER_LOCK, type DemoMatterLockInput, seedDemoMatterLock } from './matter-lock.ts'
export { DEMO_CALENDAR_PATH, demoCalendarFeed, seedDemoProperty } from './property.ts'
export {
  DEMO_EMAIL,
  DEMO_LOCKS,
  type DemoData,
  type DemoLock,
  type DemoSeedOptions,
  replaceDemoLock,
  seedDemo,
} from './seed.ts'
