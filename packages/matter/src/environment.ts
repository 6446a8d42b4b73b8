/**
 * matter.js keeps one environment per process (its storage path and mDNS settings are process-wide):
 * each process that runs a Matter node (the server as controller, or a virtual lock) sets it once,
 * before creating its node. mDNS is kept to the loopback interface unless told otherwise, so tests and
 * the demo never announce anything on a real network.
 */
import { Environment } from '@matter/main'

let configuredPath: string | null = null

export interface MatterEnvironmentOptions {
  /** Where the node's fabric, keys and state live (a directory; created when missing). */
  storagePath: string
  /** The network interface for mDNS (default `lo`). */
  mdnsInterface?: string | undefined
}

export function configureMatterEnvironment(options: MatterEnvironmentOptions): Environment {
  const env = Environment.default
  if (configuredPath !== null && configuredPath !== options.storagePath) {
    throw new Error(
      `this process already keeps its Matter storage in ${configuredPath}: one storage path per process`,
    )
  }
  configuredPath = options.storagePath
  env.vars.set('storage.path', options.storagePath)
  env.vars.set('mdns.networkInterface', options.mdnsInterface ?? 'lo')
  env.vars.set('mdns.ipv4', true)
  env.vars.set('log.level', process.env.MATTER_LOG_LEVEL ?? 'error')
  return env
}
