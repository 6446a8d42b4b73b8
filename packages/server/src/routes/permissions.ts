/** Sharing locks to unique codes and users (SPEC §4): owners and admins share and revoke; every member reads. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  AUTHENTICATED,
  iso,
  isoOrNull,
  localOrNull,
  OWNER_OR_ADMIN,
  problems,
  requireAuth,
  requireRole,
  ZIdParams,
} from '../http/index.ts'
import {
  createPermissions,
  listPermissions,
  type PermissionView,
  revokePermission,
} from '../permissions/index.ts'
import type { RouteOptions } from './context.ts'
import {
  type TPermission,
  ZCreatePermissionsRequest,
  ZListPermissionsQuery,
  ZPermissionsResponse,
} from './permissions.schemas.ts'
import { UNPROCESSABLE } from './unique-codes.schemas.ts'

const toApi = (p: PermissionView): TPermission => ({
  ...p,
  startsAt: isoOrNull(p.startsAt),
  startsAtLocal: localOrNull(p.startsAt, p.timezone),
  endsAt: isoOrNull(p.endsAt),
  endsAtLocal: localOrNull(p.endsAt, p.timezone),
  accessEndsAt: isoOrNull(p.accessEndsAt),
  accessEndsAtLocal: localOrNull(p.accessEndsAt, p.timezone),
  createdAt: iso(p.createdAt),
})

const TAGS = ['permissions']

export const permissionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/permissions',
    {
      schema: {
        tags: TAGS,
        summary: 'Share locks to a unique code or a user (owner or admin)',
        description:
          'One share per lock (`201 {items}`). A lock already shared to the same grantee gets the new share in place of the old one. 422 `level_not_allowed` above maintenance for a unique code (or above the granter’s own role); a restricted share needs a window or a weekly schedule; a one_time share opens once.',
        security: AUTHENTICATED,
        body: ZCreatePermissionsRequest,
        response: { 201: ZPermissionsResponse, ...problems(400, 401, 403, 404, 409), ...UNPROCESSABLE },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'share locks')
      const { startsAt, endsAt, ...body } = request.body
      const created = await createPermissions(deps.db, deps.clock.now(), auth, {
        ...body,
        startsAt,
        endsAt,
      })
      return reply.code(201).send({ items: created.map(toApi) })
    },
  )

  app.get(
    '/permissions',
    {
      schema: {
        tags: TAGS,
        summary: 'Shares of the organization that are not revoked',
        security: AUTHENTICATED,
        querystring: ZListPermissionsQuery,
        response: { 200: ZPermissionsResponse, ...problems(400, 401) },
      },
    },
    async (request) => {
      const auth = requireAuth(request)
      const items = await listPermissions(deps.db, deps.clock.now(), auth.organizationId, request.query)
      return { items: items.map(toApi) }
    },
  )

  app.delete(
    '/permissions/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Revoke a share (owner or admin)',
        description:
          'Ends it at once for app unlocks and new eKeys; its eKeys go onto the lock’s revocation list, which the lock gets as soon as it is reached.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 204: z.null().describe('Revoked'), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'revoke shares')
      await revokePermission(deps.db, deps.clock.now(), auth, request.params.id)
      return reply.code(204).send(null)
    },
  )
}
