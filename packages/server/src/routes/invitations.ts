/** Invitations (owner or admin) and accepting one. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  acceptInvitation,
  createInvitation,
  describeInvitation,
  getInvitation,
  type InvitationView,
  listInvitations,
  resolveCredential,
  revokeInvitation,
} from '../accounts/index.ts'
import {
  AUTHENTICATED,
  iso,
  OWNER_OR_ADMIN,
  presentedCredential,
  problems,
  requireRole,
  setSessionCookie,
  ZIdParams,
} from '../http/index.ts'
import type { RouteOptions } from './context.ts'
import {
  type TInvitation,
  ZAcceptInvitationRequest,
  ZAcceptInvitationResponse,
  ZCreateInvitationRequest,
  ZCreateInvitationResponse,
  ZDescribeInvitationRequest,
  ZDescribeInvitationResponse,
  ZInvitation,
  ZListInvitationsResponse,
} from './invitations.schemas.ts'

/** Where the portal takes an invitation: the token rides in the fragment, so no server log sees it. */
export const INVITATION_PATH = '/invitation'

const toApi = (invitation: InvitationView): TInvitation => ({
  ...invitation,
  createdAt: iso(invitation.createdAt),
  expiresAt: iso(invitation.expiresAt),
})

/** Public: the token is the credential. */
export const acceptInvitationRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/auth/invitation',
    {
      schema: {
        tags: ['auth'],
        summary: 'What an invitation link is for: the organization, the e-mail and the role',
        description:
          'The token goes in the body, so no URL carries it. 404 when the link is used, revoked or past its 7 days. Says nothing of whether the e-mail has an account.',
        body: ZDescribeInvitationRequest,
        response: { 200: ZDescribeInvitationResponse, ...problems(400, 404) },
      },
    },
    async (request) => {
      const found = await describeInvitation(deps.db, deps.clock.now(), request.body.token)
      return { ...found, expiresAt: iso(found.expiresAt) }
    },
  )

  app.post(
    '/auth/accept-invitation',
    {
      schema: {
        tags: ['auth'],
        summary: 'Join an organization by its invitation, signed in',
        description:
          "With `password`: a new account for the invited e-mail, or the password of the account it has (throttled as a login). Without: the session presented must be that account's. The link works once, for 7 days (404 after).",
        body: ZAcceptInvitationRequest,
        response: { 200: ZAcceptInvitationResponse, ...problems(400, 401, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      let signedInUserId: string | null = null
      try {
        const credential = presentedCredential(request)
        if (credential !== null)
          signedInUserId = (await resolveCredential(deps.db, deps.clock.now(), credential))?.userId ?? null
      } catch {
        // a malformed header signs no one in; the password is then needed
      }
      const joined = await acceptInvitation(deps.db, deps.clock.now(), deps.loginThrottle, {
        ...request.body,
        signedInUserId,
        address: request.ip,
      })
      setSessionCookie(reply, joined.token)
      return { ...joined, expiresAt: iso(joined.expiresAt) }
    },
  )
}

export const invitationRoutes: FastifyPluginAsyncZod<RouteOptions> = async (scope, { deps }) => {
  scope.post(
    '/invitations',
    {
      schema: {
        tags: ['members'],
        summary: 'Invite an e-mail with a role (owner or admin)',
        description:
          'The answer carries the one-time token and its link, once; valid 7 days. The same answer whether or not the e-mail has an account anywhere; 409 when it is a member here already. Inviting it again replaces the pending invitation. Only an owner invites an owner.',
        security: AUTHENTICATED,
        body: ZCreateInvitationRequest,
        response: { 201: ZCreateInvitationResponse, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'invite people')
      const { invitation, token } = await createInvitation(deps.db, deps.clock.now(), auth, request.body)
      const link = `${request.protocol}://${request.host}${INVITATION_PATH}#${token}`
      return reply.code(201).send({ ...toApi(invitation), token, link })
    },
  )

  scope.get(
    '/invitations',
    {
      schema: {
        tags: ['members'],
        summary: 'Invitations not yet accepted (owner or admin)',
        security: AUTHENTICATED,
        response: { 200: ZListInvitationsResponse, ...problems(401, 403) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'see invitations')
      return { items: (await listInvitations(deps.db, deps.clock.now(), auth.organizationId)).map(toApi) }
    },
  )

  scope.get(
    '/invitations/:id',
    {
      schema: {
        tags: ['members'],
        summary: 'An invitation (owner or admin)',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZInvitation, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'see invitations')
      return toApi(await getInvitation(deps.db, deps.clock.now(), auth.organizationId, request.params.id))
    },
  )

  scope.delete(
    '/invitations/:id',
    {
      schema: {
        tags: ['members'],
        summary: 'Revoke an invitation (owner or admin): its link stops working',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 204: z.null().describe('Revoked'), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'revoke invitations')
      await revokeInvitation(deps.db, auth.organizationId, request.params.id)
      return reply.code(204).send(null)
    },
  )
}
