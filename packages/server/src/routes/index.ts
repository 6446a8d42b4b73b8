/**
 * The routes of `/api/v1`. Public routes first; everything else sits behind `authenticate`, which
 * puts the caller's {userId, organizationId, role} on `request.auth`.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { authenticate } from '../http/index.ts'
import { accessCodeRoutes } from './access-codes.ts'
import { apiKeyRoutes } from './api-keys.ts'
import { appRoutes } from './app.ts'
import { authRoutes } from './auth.ts'
import type { RouteOptions } from './context.ts'
import { eventRoutes } from './events.ts'
import { gatewayRoutes } from './gateways.ts'
import { brokerRoutes } from './gateways-broker.ts'
import { acceptInvitationRoutes, invitationRoutes } from './invitations.ts'
import { lockRoutes } from './locks.ts'
import { lockActionRoutes } from './locks-actions.ts'
import { lockReconcileRoutes } from './locks-reconcile.ts'
import { meRoutes } from './me.ts'
import { memberRoutes } from './members.ts'
import { organizationRoutes } from './organization.ts'
import { permissionRoutes } from './permissions.ts'
import { propertyRoutes } from './properties.ts'
import { uniqueCodeRoutes } from './unique-codes.ts'
import { webhookRoutes } from './webhooks.ts'

export type { RouteOptions }

const PUBLIC: FastifyPluginAsyncZod<RouteOptions>[] = [
  authRoutes,
  acceptInvitationRoutes,
  brokerRoutes,
  appRoutes,
]
const AUTHENTICATED_ROUTES: FastifyPluginAsyncZod<RouteOptions>[] = [
  meRoutes,
  apiKeyRoutes,
  organizationRoutes,
  memberRoutes,
  invitationRoutes,
  gatewayRoutes,
  lockRoutes,
  lockActionRoutes,
  lockReconcileRoutes,
  accessCodeRoutes,
  eventRoutes,
  uniqueCodeRoutes,
  permissionRoutes,
  propertyRoutes,
  webhookRoutes,
]

export const apiV1Routes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  for (const routes of PUBLIC) await app.register(routes, { deps })
  await app.register(async (scope) => {
    scope.addHook('onRequest', authenticate(deps))
    for (const routes of AUTHENTICATED_ROUTES) await scope.register(routes, { deps })
  })
}
