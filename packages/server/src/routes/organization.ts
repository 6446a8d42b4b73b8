/** Organization settings: every member reads them, owners and admins change them. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { getOrganizationSettings, updateOrganizationSettings } from '../accounts/organization-settings.ts'
import { AUTHENTICATED, OWNER_OR_ADMIN, requireAuth, requireRole } from '../http/auth.ts'
import { problems } from '../http/schemas.ts'
import type { RouteOptions } from './context.ts'
import { ZOrganizationSettings, ZUpdateOrganizationSettingsRequest } from './organization.schemas.ts'

export const organizationRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/organization/settings',
    {
      schema: {
        tags: ['organization'],
        summary: 'Settings of the organization',
        security: AUTHENTICATED,
        response: { 200: ZOrganizationSettings, ...problems(401) },
      },
    },
    (request) => getOrganizationSettings(deps.db, requireAuth(request).organizationId),
  )

  app.patch(
    '/organization/settings',
    {
      schema: {
        tags: ['organization'],
        summary: 'Change settings (owner or admin); only the fields given change',
        security: AUTHENTICATED,
        body: ZUpdateOrganizationSettingsRequest,
        response: { 200: ZOrganizationSettings, ...problems(400, 401, 403) },
      },
    },
    (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'change organization settings')
      return updateOrganizationSettings(deps.db, auth.organizationId, request.body)
    },
  )
}
