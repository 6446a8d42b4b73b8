/** Members of the organization and their role (see accounts/members.ts for the rules); people join by invitation. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { listMembers, type MemberView, removeMember, updateMemberRole } from '../accounts/index.ts'
import { AUTHENTICATED, iso, OWNER_OR_ADMIN, problems, requireAuth, requireRole } from '../http/index.ts'
import type { RouteOptions } from './context.ts'
import {
  type TMember,
  ZListMembersResponse,
  ZMember,
  ZMemberParams,
  ZUpdateMemberRequest,
} from './members.schemas.ts'

const toApi = (member: MemberView): TMember => ({ ...member, createdAt: iso(member.createdAt) })

export const memberRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/members',
    {
      schema: {
        tags: ['members'],
        summary: 'Users of the organization and their role',
        security: AUTHENTICATED,
        response: { 200: ZListMembersResponse, ...problems(401) },
      },
    },
    async (request) => ({
      items: (await listMembers(deps.db, requireAuth(request).organizationId)).map(toApi),
    }),
  )

  app.patch(
    '/members/:userId',
    {
      schema: {
        tags: ['members'],
        summary: "Change a member's role (owner or admin)",
        description:
          "Only an owner makes someone an owner or changes an owner's role; the last owner keeps the role (409). The new role holds from the member's next request.",
        security: AUTHENTICATED,
        params: ZMemberParams,
        body: ZUpdateMemberRequest,
        response: { 200: ZMember, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'change roles')
      return toApi(await updateMemberRole(deps.db, auth, request.params.userId, request.body.role))
    },
  )

  app.delete(
    '/members/:userId',
    {
      schema: {
        tags: ['members'],
        summary: 'Remove a member (owner or admin); their sessions and API keys here stop at once',
        security: AUTHENTICATED,
        params: ZMemberParams,
        response: { 204: z.null().describe('Removed'), ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'remove members')
      await removeMember(deps.db, auth, request.params.userId)
      return reply.code(204).send(null)
    },
  )
}
