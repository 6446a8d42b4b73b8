/**
 * The OpenAPI 3.1 document, generated from the routes' zod schemas, and the interactive docs.
 * Registered on the root of the app, so routes mounted beside the API (the demo's `/sim`) are in it.
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { SESSION_COOKIE } from './auth.ts'

export const OPENAPI_PATH = '/api/openapi.json'
export const DOCS_PATH = '/api/docs'

export function registerOpenApi(app: FastifyInstance, version: string): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Latchkey API',
        version,
        description:
          'Self-hosted access platform for smart locks. Errors are `application/problem+json` with a stable `code`.',
      },
      servers: [],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'A session token or an API key (`lk_…`).',
          },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  })
  app.register(swaggerUi, { routePrefix: DOCS_PATH })
  app.get(OPENAPI_PATH, { schema: { hide: true } }, () => app.swagger())
}
