/**
 * The app of end users (SPEC §4, §8): Code Login with a unique code, the locks shared to it, remote
 * unlock through the server, and eKeys to present to a lock. `/app/code-login` is public; the other
 * routes take the Code Login session (Bearer `lka_…` or its cookie), or a user's own session or API
 * key for the shares made to that user.
 */
import { LatchkeyError } from '@latchkey/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  APP_SESSION_TOKEN_PREFIX,
  type AppLockView,
  type AppPrincipal,
  codeLogin,
  DEFAULT_CODE_LOGIN_THROTTLE,
  deleteAppSession,
  issueEKey,
  listAppLocks,
  resolveAppPrincipal,
  unlockFromApp,
} from '../app-users/index.ts'
import { awaitReply } from '../devices/index.ts'
import { iso, isoOrNull, localOrNull, problems, SESSION_COOKIE } from '../http/index.ts'
import {
  type TAppLock,
  ZAppLockParams,
  ZAppLocksResponse,
  ZCodeLoginRequest,
  ZCodeLoginResponse,
  ZEKeyResponse,
} from './app.schemas.ts'
import type { RouteOptions } from './context.ts'
import { LOCK_PROBLEMS, ZLockCommandResponse } from './locks.schemas.ts'
import { REPLY_WAIT_MS } from './locks-actions.ts'

export const APP_SESSION_COOKIE = 'latchkey_app_session'

/** OpenAPI security of the app routes: the Code Login token (or a user's token) as Bearer. */
const APP_AUTHENTICATED: Record<string, string[]>[] = [{ bearerAuth: [] }]

declare module 'fastify' {
  interface FastifyRequest {
    appPrincipal?: AppPrincipal
  }
}

const toApi = (lock: AppLockView): TAppLock => ({
  ...lock,
  startsAt: isoOrNull(lock.startsAt),
  startsAtLocal: localOrNull(lock.startsAt, lock.timezone),
  endsAt: isoOrNull(lock.endsAt),
  endsAtLocal: localOrNull(lock.endsAt, lock.timezone),
  accessEndsAt: isoOrNull(lock.accessEndsAt),
  accessEndsAtLocal: localOrNull(lock.accessEndsAt, lock.timezone),
})

/** The token the request presents: the Authorization header, else the app cookie, else the portal cookie. */
function presentedToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (header !== undefined) {
    const match = /^Bearer +(\S+) *$/i.exec(header)
    if (match === null)
      throw new LatchkeyError('unauthorized', 'the Authorization header must be `Bearer <token>`')
    return match[1]!
  }
  const cookie = request.cookies?.[APP_SESSION_COOKIE] ?? request.cookies?.[SESSION_COOKIE]
  return cookie === undefined || cookie === '' ? null : cookie
}

function principalOf(request: FastifyRequest): AppPrincipal {
  if (request.appPrincipal === undefined) throw new LatchkeyError('unauthorized', 'authentication required')
  return request.appPrincipal
}

function setAppCookie(reply: FastifyReply, token: string, expiresAt: Date): void {
  reply.setCookie(APP_SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: 'auto',
    expires: expiresAt,
  })
}

export const appRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const logins = deps.metrics.counter(
    'code_logins_total',
    'Code Login attempts by outcome (throttled: refused by the Code Login throttle).',
  )

  app.post(
    '/app/code-login',
    {
      schema: {
        tags: ['app'],
        summary: 'Log in with a unique code (Code Login)',
        description:
          'Binds the code to the first device that logs in; another device gets 409 `code_bound_to_other_device` until an admin resets it. A wrong, expired or deleted code answers the same 401 `invalid_code`. Throttled per client address and per device (429 `rate_limited` with Retry-After).',
        body: ZCodeLoginRequest,
        response: { 200: ZCodeLoginResponse, ...problems(400, 401, 409, 429) },
      },
    },
    async (request, reply) => {
      const result = await codeLogin(
        {
          db: deps.db,
          secrets: deps.secrets,
          clock: deps.clock,
          throttle: DEFAULT_CODE_LOGIN_THROTTLE,
          onAttempt: (attempt) => {
            logins.inc({ outcome: attempt.outcome })
            if (attempt.outcome !== 'success') {
              request.log.warn({ event: 'unique_code.login_failed', ...attempt }, 'Code Login refused')
            }
          },
        },
        { ...request.body, address: request.ip },
      )
      setAppCookie(reply, result.token, result.expiresAt)
      return { token: result.token, expiresAt: iso(result.expiresAt), locks: result.locks.map(toApi) }
    },
  )

  app.post(
    '/app/logout',
    {
      schema: {
        tags: ['app'],
        summary: 'End the Code Login session',
        response: { 204: z.null().describe('Signed out') },
      },
    },
    async (request, reply) => {
      let token: string | null = null
      try {
        token = presentedToken(request)
      } catch {
        // a malformed header ends nothing
      }
      if (token?.startsWith(APP_SESSION_TOKEN_PREFIX)) await deleteAppSession(deps.db, token)
      reply.clearCookie(APP_SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: 'auto' })
      return reply.code(204).send(null)
    },
  )

  await app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<ZodTypeProvider>()
    scope.addHook('onRequest', async (request) => {
      const token = presentedToken(request)
      if (token === null) throw new LatchkeyError('unauthorized', 'authentication required')
      const principal = await resolveAppPrincipal(deps.db, deps.clock.now(), token)
      if (principal === null) {
        throw new LatchkeyError('unauthorized', 'the session is not valid (unknown, ended or expired)')
      }
      request.appPrincipal = principal
    })

    scope.get(
      '/app/locks',
      {
        schema: {
          tags: ['app'],
          summary: 'The locks shared with me that I may open now or later',
          security: APP_AUTHENTICATED,
          response: { 200: ZAppLocksResponse, ...problems(401) },
        },
      },
      async (request) => ({
        items: (await listAppLocks(deps.db, deps.clock.now(), principalOf(request))).map(toApi),
      }),
    )

    scope.post(
      '/app/locks/:id/unlock',
      {
        schema: {
          tags: ['app'],
          summary: 'Open a lock remotely, through its gateway',
          description:
            'Waits a few seconds for the lock: 200 when it confirmed, 202 when the sealed command is on its way but unanswered. 403 `forbidden` when the share does not open the lock now (outside its window or schedule, one-time share already used), 404 when the lock is not shared with me, 409 `lock_offline` when the lock cannot be reached.',
          security: APP_AUTHENTICATED,
          params: ZAppLockParams,
          response: {
            200: ZLockCommandResponse,
            202: ZLockCommandResponse,
            ...problems(401, 403, 404),
            409: LOCK_PROBLEMS.lockOffline,
          },
        },
      },
      async (request, reply) => {
        const sent = await unlockFromApp(
          { db: deps.db, clock: deps.clock, channel: deps.channel },
          principalOf(request),
          request.params.id,
        )
        const outcome = await awaitReply(deps.db, sent.commandId, REPLY_WAIT_MS)
        return reply
          .code(outcome.status === 'pending' ? 202 : 200)
          .send({ commandId: sent.commandId, ...outcome })
      },
    )

    scope.post(
      '/app/locks/:id/ekey',
      {
        schema: {
          tags: ['app'],
          summary: 'Get a signed eKey to open the lock over the radio link',
          description:
            'Valid until the share ends, the unique code expires or 24 hours from now, whichever comes first; one-time for a one_time share (which it spends). The lock refuses it once its revocation list names its share. At most 20 an hour per person and lock (429 `rate_limited` with Retry-After).',
          security: APP_AUTHENTICATED,
          params: ZAppLockParams,
          response: { 201: ZEKeyResponse, ...problems(401, 403, 404, 429) },
        },
      },
      async (request, reply) => {
        const key = await issueEKey(deps, principalOf(request), request.params.id)
        return reply.code(201).send({
          credential: key.credential,
          keyId: key.keyId,
          notBefore: iso(key.notBefore),
          notAfter: iso(key.notAfter),
        })
      },
    )
  })
}
