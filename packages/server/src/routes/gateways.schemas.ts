import { z } from 'zod'
import { list, ZTimestamp } from '../http/index.ts'

export const ZCreateGatewayRequest = z.strictObject({ name: z.string().trim().min(1).max(100) })
export type TCreateGatewayRequest = z.infer<typeof ZCreateGatewayRequest>

export const ZGateway = z
  .object({
    id: z.uuid(),
    name: z.string(),
    online: z.boolean().describe('Connected to the broker, as last reported.'),
    lastSeenAt: ZTimestamp.nullable(),
    lockCount: z.number().int().describe('Locks assigned to this gateway.'),
    createdAt: ZTimestamp,
  })
  .meta({ id: 'Gateway' })
export type TGateway = z.infer<typeof ZGateway>

export const ZGatewayMqttLogin = z
  .object({
    url: z
      .string()
      .nullable()
      .describe('The broker the gateway connects to (null when the server runs without one).'),
    username: z.string().describe('The gateway id.'),
    password: z.string().describe('The gateway token: shown this once, never again.'),
    clientId: z.string().describe('The gateway id: one session per gateway.'),
  })
  .meta({ id: 'GatewayMqttLogin' })

export const ZCreateGatewayResponse = ZGateway.extend({ mqtt: ZGatewayMqttLogin })
export type TCreateGatewayResponse = z.infer<typeof ZCreateGatewayResponse>

export const ZRotateGatewayTokenResponse = z
  .object({ id: z.uuid(), mqtt: ZGatewayMqttLogin })
  .meta({ id: 'GatewayTokenRotated' })
export type TRotateGatewayTokenResponse = z.infer<typeof ZRotateGatewayTokenResponse>

export const ZDeleteGatewayResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    detachedLocks: z
      .array(z.object({ id: z.uuid(), name: z.string() }))
      .describe(
        'The locks that were behind the gateway: they have no gateway now and cannot be reached until they are given another one (PATCH /locks/{id} with gatewayId).',
      ),
  })
  .meta({ id: 'GatewayDeleted' })
export type TDeleteGatewayResponse = z.infer<typeof ZDeleteGatewayResponse>

export const ZListGatewaysResponse = list(ZGateway)
export type TListGatewaysResponse = z.infer<typeof ZListGatewaysResponse>

export const ZBrokerResponse = z
  .object({ mqttUrl: z.string().describe('Where the gateway connects, e.g. mqtt://host:1884.') })
  .meta({ id: 'Broker' })
export type TBrokerResponse = z.infer<typeof ZBrokerResponse>
