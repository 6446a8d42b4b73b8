/** Members of the organization and their role (see accounts/members.ts for the rules). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { addMember, listMembers, type MemberView, removeMember } from '../accounts/index.ts'
import { AUTHENTICATED, iso, OWNER_OR_ADMIN, problems, requireAuth, requireRole } from '../http/index.ts'
import type { RouteOptions } from './context.ts'
import {
  type TMember,
  ZAddMemberRequest,
  ZListMembersResponse,
  ZMember,
  ZMemberParams,
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

  app.post(
    '/members',
    {
      schema: {
        tags: ['members'],
        summary: 'Add a user by email with a role (owner or admin)',
        description:
          'An email without an account gets one with the initial `password` given (required). An email that already has an account is added as it is (no `password`). Only an owner adds an owner.',
        security: AUTHENTICATED,
        body: ZAddMemberRequest,
        response: { 201: ZMember, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'add members')
      const { member } = await addMember(deps.db, deps.clock.now(), auth, request.body)
      return reply.code(201).send(toApi(member))
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
