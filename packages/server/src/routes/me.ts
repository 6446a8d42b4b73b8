import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { getMe } from '../accounts/index.ts'
import { AUTHENTICATED, problems, requireAuth } from '../http/index.ts'
import type { RouteOptions } from './context.ts'
import { ZMeResponse } from './me.schemas.ts'

export const meRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'Who is signed in, in which organization, with which role',
        security: AUTHENTICATED,
        response: { 200: ZMeResponse, ...problems(401) },
      },
    },
    (request) => getMe(deps.db, requireAuth(request)),
  )
}
