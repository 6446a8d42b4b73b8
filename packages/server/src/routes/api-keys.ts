/** API keys of the organization: owners and admins manage them; a key acts with its creator's role. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { type ApiKeyView, createApiKey, deleteApiKey, listApiKeys } from '../accounts/index.ts'
import {
  AUTHENTICATED,
  iso,
  isoOrNull,
  OWNER_OR_ADMIN,
  problems,
  requireRole,
  ZIdParams,
} from '../http/index.ts'
import {
  type TApiKey,
  ZCreateApiKeyRequest,
  ZCreateApiKeyResponse,
  ZListApiKeysResponse,
} from './api-keys.schemas.ts'
import type { RouteOptions } from './context.ts'

const toApi = (key: ApiKeyView): TApiKey => ({
  id: key.id,
  name: key.name,
  prefix: key.prefix,
  createdBy: key.createdBy,
  createdAt: iso(key.createdAt),
  lastUsedAt: isoOrNull(key.lastUsedAt),
})

export const apiKeyRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key (the key is shown once)',
        security: AUTHENTICATED,
        body: ZCreateApiKeyRequest,
        response: { 201: ZCreateApiKeyResponse, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'create API keys')
      const created = await createApiKey(
        deps.db,
        deps.clock.now(),
        auth.organizationId,
        auth.userId,
        request.body.name,
      )
      return reply.code(201).send({ ...toApi(created), key: created.key })
    },
  )

  app.get(
    '/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'List the API keys of the organization',
        security: AUTHENTICATED,
        response: { 200: ZListApiKeysResponse, ...problems(401, 403) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'list API keys')
      return { items: (await listApiKeys(deps.db, auth.organizationId)).map(toApi) }
    },
  )

  app.delete(
    '/api-keys/:id',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 204: z.null().describe('Revoked'), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'revoke API keys')
      await deleteApiKey(deps.db, auth.organizationId, request.params.id)
      return reply.code(204).send(null)
    },
  )
}
