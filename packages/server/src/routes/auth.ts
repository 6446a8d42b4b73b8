/** Sign-up, login and logout. Public routes: they authenticate no one on the way in. */
import { isLatchkeyError } from '@latchkey/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { deleteSession, login, publicSignup, signupAllowed } from '../accounts/index.ts'
import { clearSessionCookie, iso, presentedCredential, problems, setSessionCookie } from '../http/index.ts'
import {
  ZLoginRequest,
  ZLoginResponse,
  ZSignupRequest,
  ZSignupResponse,
  ZSignupStatusResponse,
} from './auth.schemas.ts'
import type { RouteOptions } from './context.ts'

export const authRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const logins = deps.metrics.counter(
    'logins_total',
    'Owner and member logins by outcome (ok, refused, throttled: refused by the login throttle).',
  )
  app.get(
    '/auth/signup',
    {
      schema: {
        tags: ['auth'],
        summary: 'Whether this server takes a sign-up now',
        description:
          'As LATCHKEY_SIGNUP says: `first` (only while no organization exists), `open` or `closed`. The portal shows Sign up only when `allowed`.',
        response: { 200: ZSignupStatusResponse },
      },
    },
    async () => ({ allowed: await signupAllowed(deps.db, deps.signup.mode) }),
  )

  app.post(
    '/auth/signup',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an organization and its owner, signed in',
        description:
          'Allowed as LATCHKEY_SIGNUP says (403 when not). Throttled per client network (429 with Retry-After); both are checked before the password is hashed.',
        body: ZSignupRequest,
        response: { 201: ZSignupResponse, ...problems(400, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const result = await publicSignup(deps.db, deps.clock.now(), deps.signup, {
        ...request.body,
        address: request.ip,
      })
      setSessionCookie(reply, result.token)
      return reply
        .code(201)
        .send({ userId: result.userId, organizationId: result.organizationId, token: result.token })
    },
  )

  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        description:
          'Answers a session token and sets it as an HttpOnly cookie. Throttled per email and per client address (429 with Retry-After).',
        body: ZLoginRequest,
        response: { 200: ZLoginResponse, ...problems(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      let session: Awaited<ReturnType<typeof login>>
      try {
        session = await login(deps.db, deps.clock.now(), deps.loginThrottle, {
          ...request.body,
          address: request.ip,
        })
      } catch (error) {
        logins.inc({
          outcome: isLatchkeyError(error) && error.code === 'rate_limited' ? 'throttled' : 'refused',
        })
        throw error
      }
      logins.inc({ outcome: 'ok' })
      setSessionCookie(reply, session.token)
      return {
        token: session.token,
        expiresAt: iso(session.expiresAt),
        userId: session.userId,
        organizationId: session.organizationId,
      }
    },
  )

  app.post(
    '/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'End the current session',
        description:
          'Ends the session of the presented token or cookie and clears the cookie. An API key is not revoked here.',
        response: { 204: z.null().describe('Signed out') },
      },
    },
    async (request, reply) => {
      let token: string | null = null
      try {
        token = presentedCredential(request)
      } catch {
        // a malformed header ends nothing
      }
      if (token !== null) await deleteSession(deps.db, token)
      clearSessionCookie(reply)
      return reply.code(204).send(null)
    },
  )
}
