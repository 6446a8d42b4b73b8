/** Organization settings: every member reads them, owners and admins change them. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { getOrganizationSettings, updateOrganizationSettings } from '../accounts/index.ts'
import { AUTHENTICATED, OWNER_OR_ADMIN, problems, requireAuth, requireRole } from '../http/index.ts'
import { requestReconcileOrganization } from '../reconciler/index.ts'
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
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'change organization settings')
      const settings = await updateOrganizationSettings(deps.db, auth.organizationId, request.body)
      // A new lead moves when scheduled codes go onto the locks: every lock is planned again now.
      if (request.body.syncLeadHours !== undefined)
        await requestReconcileOrganization(deps, auth.organizationId)
      return settings
    },
  )
}
