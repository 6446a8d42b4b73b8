export {
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_SYNC_INTERVAL_MS,
  Gateway,
  type GatewayLockStatus,
  type GatewayOptions,
  type GatewayStatus,
} from './gateway.ts'
export { discoverBroker, type RunningSim, type RunSimOptions, runSim } from './sim.ts'
export { type KeypadAnswer, problemOf, type SimRoutesOptions, simRoutes } from './sim-routes.ts'
export * from './sim-routes.types.ts'
