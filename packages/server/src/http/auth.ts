/**
 * Authentication of API requests: `Authorization: Bearer <session token or API key>`, or the
 * portal's session cookie. `authenticate` puts {userId, organizationId, role} on `request.auth`;
 * every query of a route is then scoped by `request.auth.organizationId`.
 */
import { LatchkeyError } from '@latchkey/core'
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { type AuthContext, resolveCredential, SESSION_TTL_MS } from '../accounts/index.ts'
import type { ServerDeps } from '../context.ts'
import type { Role } from '../store/index.ts'

export type { AuthContext }

export const SESSION_COOKIE = 'latchkey_session'

/** OpenAPI security requirement of every authenticated route. */
export const AUTHENTICATED: Record<string, string[]>[] = [{ bearerAuth: [] }, { sessionCookie: [] }]

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null
  }
}

/** The credential the request presents: the Authorization header first, else the session cookie. */
export function presentedCredential(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (header !== undefined) {
    const match = /^Bearer +(\S+) *$/i.exec(header)
    if (match === null)
      throw new LatchkeyError('unauthorized', 'the Authorization header must be `Bearer <token>`')
    return match[1]!
  }
  const cookie = request.cookies?.[SESSION_COOKIE]
  return cookie === undefined || cookie === '' ? null : cookie
}

/** The onRequest hook of every authenticated route: 401 `unauthorized` without a valid credential. */
export function authenticate(deps: ServerDeps): onRequestAsyncHookHandler {
  return async (request) => {
    const token = presentedCredential(request)
    if (token === null) throw new LatchkeyError('unauthorized', 'authentication required')
    const auth = await resolveCredential(deps.db, deps.clock.now(), token)
    if (auth === null)
      throw new LatchkeyError('unauthorized', 'the credential is not valid (unknown, revoked or expired)')
    request.auth = auth
  }
}

export function requireAuth(request: FastifyRequest): AuthContext {
  if (request.auth === null) throw new LatchkeyError('unauthorized', 'authentication required')
  return request.auth
}

/** The caller's auth when their role is one of `roles`, else 403 `forbidden`. */
export function requireRole(request: FastifyRequest, roles: readonly Role[], doing: string): AuthContext {
  const auth = requireAuth(request)
  if (!roles.includes(auth.role)) {
    throw new LatchkeyError('forbidden', `only ${roles.join(' or ')} can ${doing}`)
  }
  return auth
}

export const OWNER_OR_ADMIN: readonly Role[] = ['owner', 'admin']

export function setSessionCookie(reply: FastifyReply, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: 'auto',
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  })
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: 'auto' })
}
