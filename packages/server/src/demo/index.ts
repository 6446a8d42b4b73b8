export {
  DEMO_EMAIL,
  DEMO_LOCKS,
  type DemoData,
  type DemoLock,
  type DemoSeedOptions,
  replaceDemoLock,
  seedDemo,
} from './seed.ts'
