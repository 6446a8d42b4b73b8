export {
  DEMO_FALLBACK_TIMEZONE,
  type DemoOptions,
  demoTimezone,
  type RunningDemo,
  startDemo,
} from './demo.ts'
