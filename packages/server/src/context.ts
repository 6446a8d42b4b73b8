/** What every route and operation of the server works with. */
import type { Clock } from '@latchkey/core'
import type { LoginThrottleConfig, SignupMode, ThrottleRule } from './accounts/index.ts'
import type { BrokerAccess, LockChannel, MatterDriver } from './devices/index.ts'
import type { MetricsRegistry } from './http/index.ts'
import type { Secrets } from './secrets.ts'
import type { Db, Store } from './store/index.ts'

export interface ServerDeps {
  readonly store: Store
  readonly db: Db
  readonly secrets: Secrets
  readonly clock: Clock
  readonly metrics: MetricsRegistry
  readonly loginThrottle: LoginThrottleConfig
  /** Who may sign up (LATCHKEY_SIGNUP) and how often per client network. */
  readonly signup: { readonly mode: SignupMode; readonly throttle: ThrottleRule }
  /** Sealed commands to locks and what they send back (devices/lock-channel.ts). */
  readonly channel: LockChannel
  /** Where gateways find the MQTT broker, and their logins on it. */
  readonly broker: BrokerAccess
  /** Commissioning Matter locks (SPEC §12), when this server runs the Matter driver. */
  readonly matter?: MatterDriver
}
