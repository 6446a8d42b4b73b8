export { awaitReply } from './await-reply.ts'
export { type BrokerAccess, noBroker } from './broker-access.ts'
export { type ChannelLogger, setGatewayOnline, setLockOnline } from './channel-context.ts'
export {
  createGateway,
  deleteGateway,
  type GatewayView,
  gatewayByToken,
  getGateway,
  listGateways,
  type RetiredGateway,
  rotateGatewayToken,
} from './gateways.ts'
export { drivenElsewhereError, lazyMatterChannel, matterSettingsFrom } from './lazy-matter-channel.ts'
export {
  disconnectedChannel,
  type LockChannel,
  type LockReply,
  type SendOptions,
  type StoredLockEvents,
  UNLOCK_TTL_MS,
} from './lock-channel.ts'
export {
  type Check,
  type CheckResult,
  clockCheck,
  DENIALS_SINCE_MS,
  diagnoseLock,
  LOCK_DIAGNOSIS_CHECKS,
  linkCheck,
  loadGateway,
  lockoutCheck,
  plural,
  readLockClock,
  worst,
} from './lock-diagnosis.ts'
export {
  type DriverChannels,
  type DriverFeature,
  drivenHere,
  driverHas,
  type MatterDriver,
  requireDriverFeature,
  routedChannel,
} from './lock-driver.ts'
export { decryptLockSecret } from './lock-keys.ts'
export {
  createLock,
  createMatterLock,
  deleteLock,
  getLock,
  type LockView,
  listLocks,
  provisioningBundle,
  updateLock,
} from './locks.ts'
export type { RunningMatterChannel } from './matter-channel.ts'
export { type RunningLockChannel, startLockChannel } from './mqtt-lock-channel.ts'
export {
  connectExternalMqtt,
  DEFAULT_EMBEDDED_MQTT_PORT,
  type ServerMqtt,
  startEmbeddedMqtt,
} from './server-mqtt.ts'
export { linkReachable, unreachableCause } from './unreachable-cause.ts'
