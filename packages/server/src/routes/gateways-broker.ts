/**
 * GET /broker: a gateway asks where the MQTT broker is (`latchkey sim --server URL` does this when no
 * --mqtt-url is given). Authenticated by the gateway's own token, not by a user's credential.
 */
import { LatchkeyError } from '@latchkey/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { gatewayByToken } from '../devices/index.ts'
import { PROBLEMS, presentedCredential, problems } from '../http/index.ts'
import type { RouteOptions } from './context.ts'
import { ZBrokerResponse } from './gateways.schemas.ts'

export const brokerRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/broker',
    {
      schema: {
        tags: ['gateways'],
        summary: 'Where a gateway connects (authenticated with the gateway token)',
        security: [{ bearerAuth: [] }],
        response: {
          200: ZBrokerResponse,
          ...problems(401),
          503: {
            ...PROBLEMS[401],
            description: 'The server runs without an MQTT broker (`service_unavailable`).',
          },
        },
      },
    },
    async (request) => {
      const token = presentedCredential(request)
      const gateway = token === null ? null : await gatewayByToken(deps.db, token)
      if (gateway === null) throw new LatchkeyError('unauthorized', 'a gateway token is required')
      const mqttUrl = deps.broker.publicUrl(request.hostname)
      if (mqttUrl === null)
        throw new LatchkeyError('service_unavailable', 'the server runs without an MQTT broker')
      return { mqttUrl }
    },
  )
}
