/** How the rest of the server sees the MQTT broker its gateways use (devices/server-mqtt.ts starts it). */

/**
 * A gateway's broker login: made or changed (`register`: a new token; a session with the old one is
 * ended and the old token refused from then on) or removed (`remove`: its session ended, every login
 * refused). On Mosquitto through dynamic security; on the embedded broker at once in memory, before
 * the store's change commits.
 */
export interface GatewayRegistrar {
  register(gatewayId: string, token: string): Promise<void>
  remove(gatewayId: string): Promise<void>
}

export interface BrokerAccess {
  /** Where gateways connect (no credentials); null when the server runs without a broker (tests). */
  publicUrl(hostname?: string): string | null
  readonly registrar: GatewayRegistrar
}

export const noBroker: BrokerAccess = {
  publicUrl: () => null,
  registrar: { register: async () => {}, remove: async () => {} },
}
