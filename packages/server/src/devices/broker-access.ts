/** How the rest of the server sees the MQTT broker its gateways use (devices/server-mqtt.ts starts it). */

/** Gives a new gateway its broker login (Mosquitto's dynamic security); the embedded broker asks the store. */
export interface GatewayRegistrar {
  register(gatewayId: string, token: string): Promise<void>
}

export interface BrokerAccess {
  /** Where gateways connect (no credentials); null when the server runs without a broker (tests). */
  publicUrl(hostname?: string): string | null
  readonly registrar: GatewayRegistrar
}

export const noBroker: BrokerAccess = {
  publicUrl: () => null,
  registrar: { register: async () => {} },
}
