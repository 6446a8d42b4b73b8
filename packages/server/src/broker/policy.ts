/**
 * Who may use which MQTT topics (SPEC §2): a gateway authenticates with its own id and token and
 * may publish and subscribe only under `latchkey/v1/gw/{its id}/`; the server may do anything.
 * The embedded broker applies this function; on Mosquitto the same rule is written as
 * dynamic-security roles (mosquitto-dynsec.ts).
 */
import { gatewayFilter } from '@latchkey/protocol'

export type BrokerPrincipal = { kind: 'server' } | { kind: 'gateway'; gatewayId: string }

/** Checks a username and password; null refuses the connection. */
export type BrokerAuthenticate = (username: string, password: string) => Promise<BrokerPrincipal | null>

/** The topic prefix a gateway is confined to (its filter without the final `#`). */
export function gatewayPrefix(gatewayId: string): string {
  return gatewayFilter(gatewayId).slice(0, -1)
}

/**
 * May this principal publish on `topic`, or subscribe with the filter `topic`? A gateway's filter
 * may use wildcards only below its own prefix (`latchkey/v1/gw/+/…` or `#` reach other gateways).
 * `$`-topics (broker internals) are the server's alone.
 */
export function mayUseTopic(principal: BrokerPrincipal, topic: string): boolean {
  if (principal.kind === 'server') return true
  const prefix = gatewayPrefix(principal.gatewayId)
  return topic.startsWith(prefix) && topic.length > prefix.length
}

/** A gateway must connect with its own id as client id (one session per gateway). */
export function mayUseClientId(principal: BrokerPrincipal, clientId: string): boolean {
  return principal.kind === 'server' || clientId === principal.gatewayId
}
