/** Gateways of the organization: owners and admins register them; every member reads them. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import {
  createGateway,
  deleteGateway,
  type GatewayView,
  getGateway,
  listGateways,
  rotateGatewayToken,
} from '../devices/index.ts'
import {
  AUTHENTICATED,
  iso,
  isoOrNull,
  OWNER_OR_ADMIN,
  problems,
  requireAuth,
  requireRole,
  ZIdParams,
} from '../http/index.ts'
import type { RouteOptions } from './context.ts'
import {
  type TGateway,
  ZCreateGatewayRequest,
  ZCreateGatewayResponse,
  ZDeleteGatewayResponse,
  ZGateway,
  ZListGatewaysResponse,
  ZRotateGatewayTokenResponse,
} from './gateways.schemas.ts'

export const toApiGateway = (gateway: GatewayView): TGateway => ({
  id: gateway.id,
  name: gateway.name,
  online: gateway.online,
  lastSeenAt: isoOrNull(gateway.lastSeenAt),
  lockCount: gateway.lockCount,
  createdAt: iso(gateway.createdAt),
})

export const gatewayRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/gateways',
    {
      schema: {
        tags: ['gateways'],
        summary: 'Register a gateway (its MQTT login is shown once)',
        description:
          'The gateway logs in to the broker with `mqtt.username` (= its id, also the client id) and `mqtt.password` (its token), and may use only its own topics. `latchkey sim --gateway-id <id> --gateway-token <password>` runs one.',
        security: AUTHENTICATED,
        body: ZCreateGatewayRequest,
        response: { 201: ZCreateGatewayResponse, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'register gateways')
      const { gateway, token } = await createGateway(
        deps.db,
        deps.broker.registrar,
        deps.clock.now(),
        auth.organizationId,
        request.body.name,
      )
      return reply.code(201).send({
        ...toApiGateway(gateway),
        mqtt: {
          url: deps.broker.publicUrl(request.hostname),
          username: gateway.id,
          password: token,
          clientId: gateway.id,
        },
      })
    },
  )

  app.get(
    '/gateways',
    {
      schema: {
        tags: ['gateways'],
        summary: 'Gateways of the organization',
        security: AUTHENTICATED,
        response: { 200: ZListGatewaysResponse, ...problems(401) },
      },
    },
    async (request) => ({
      items: (await listGateways(deps.db, requireAuth(request).organizationId)).map(toApiGateway),
    }),
  )

  app.get(
    '/gateways/:id',
    {
      schema: {
        tags: ['gateways'],
        summary: 'One gateway',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZGateway, ...problems(401, 404) },
      },
    },
    async (request) =>
      toApiGateway(await getGateway(deps.db, requireAuth(request).organizationId, request.params.id)),
  )

  app.post(
    '/gateways/:id/rotate-token',
    {
      schema: {
        tags: ['gateways'],
        summary: 'Give a gateway a new token (shown once; the old one is refused from now on)',
        description:
          'The broker login changes at once: a gateway connected with the old token is disconnected, and it connects again only with the new one (`latchkey sim --gateway-token`).',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZRotateGatewayTokenResponse, ...problems(401, 403, 404, 503) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'rotate gateway tokens')
      const gateway = await getGateway(deps.db, auth.organizationId, request.params.id)
      const token = await rotateGatewayToken(
        deps.db,
        deps.broker.registrar,
        deps.clock.now(),
        auth.organizationId,
        gateway.id,
      )
      return {
        id: gateway.id,
        mqtt: {
          url: deps.broker.publicUrl(request.hostname),
          username: gateway.id,
          password: token,
          clientId: gateway.id,
        },
      }
    },
  )

  app.delete(
    '/gateways/:id',
    {
      schema: {
        tags: ['gateways'],
        summary: 'Retire a gateway (its broker login is removed at once)',
        description:
          'The gateway is disconnected and refused by the broker from now on. Its locks are detached from it and answered in `detachedLocks`: nothing reaches them (their codes wait, their status says they have no gateway) until they are given another gateway with PATCH /locks/{id}.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZDeleteGatewayResponse, ...problems(401, 403, 404, 503) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'delete gateways')
      const { gateway, detachedLocks } = await deleteGateway(
        deps.db,
        deps.broker.registrar,
        deps.clock.now(),
        auth.organizationId,
        request.params.id,
      )
      return { id: gateway.id, name: gateway.name, detachedLocks }
    },
  )
}
