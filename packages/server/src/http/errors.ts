/**
 * Every error leaves as `application/problem+json` (RFC 9457) with the stable `code`:
 *   { type, title, status, code, detail, errors? }
 * - LatchkeyError → its status (ERROR_STATUS) and its user message;
 * - request validation → 400 `validation_failed` with `errors: [{in, field, message}]`;
 * - an unknown route → 404 `not_found`; what the router refuses (bad URL, overlong parameter) → 4xx;
 * - the database not reachable (down, restarting) → 503 `service_unavailable` with Retry-After;
 * - anything else → 500 `internal`, logged, and nothing of it in the body.
 */
import {
  type FieldError,
  isLatchkeyError,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  problem,
  problemDetails,
} from '@latchkey/core'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { isDatabaseUnreachable } from '../store/index.ts'
import { sendPage } from './web.ts'

export const ZFieldError = z.object({
  in: z.enum(['body', 'querystring', 'params', 'headers']).optional(),
  field: z.string(),
  message: z.string(),
})

export { PROBLEM_CONTENT_TYPE, problem }

export const ZProblem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    errors: z.array(ZFieldError).optional(),
  })
  .meta({ id: 'Problem' })

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body)
}

/** How long a client is asked to wait when the database is not reachable. */
const DATABASE_RETRY_AFTER_SECONDS = 5

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { body, retryAfterSeconds } = toProblem(error, request)
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds))
    if (body.status === 401) reply.header('www-authenticate', 'Bearer')
    return sendProblem(reply, body)
  })
  app.setNotFoundHandler((request, reply) => {
    if (sendPage(request, reply)) return reply
    const path = request.url.split('?')[0]
    return sendProblem(reply, problem('not_found', `no route ${request.method} ${path}`))
  })
}

/**
 * For Fastify's `frameworkErrors`: what the router refuses before any route runs (a malformed URL, a
 * path parameter longer than the router takes) leaves as problem+json too.
 */
export function sendFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(reply, toProblem(error, request).body)
}

function toProblem(
  error: FastifyError,
  request: FastifyRequest,
): { body: Problem; retryAfterSeconds?: number } {
  if (isLatchkeyError(error)) {
    if (error.status >= 500 && error.code !== 'service_unavailable') return internal(error, request)
    if (error.status >= 500) request.log.warn({ err: error }, error.message)
    const details = problemDetails(error.details)
    return {
      body: problem(error.code, error.userMessage, error.status, details.errors),
      ...(details.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: details.retryAfterSeconds }),
    }
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext as FieldError['in']
    const errors = error.validation.map((issue) => ({
      in: where,
      field: issue.instancePath.replace(/^\//, '').replaceAll('/', '.'),
      message: issue.message ?? 'invalid',
    }))
    return { body: problem('validation_failed', describeValidation(errors), 400, errors) }
  }
  // fastify's own client errors: malformed JSON, unsupported media type, body too large...
  const status = error.statusCode ?? 500
  if (status === 404) return { body: problem('not_found', error.message, 404) }
  if (status === 429) return { body: problem('rate_limited', error.message, 429) }
  if (status >= 400 && status < 500) return { body: problem('validation_failed', error.message, status) }
  if (isDatabaseUnreachable(error)) {
    request.log.warn({ err: error }, 'the database is not reachable')
    return {
      body: problem(
        'service_unavailable',
        'The database is not reachable at the moment. Try again in a few seconds.',
        503,
      ),
      retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
    }
  }
  return internal(error, request)
}

function internal(error: unknown, request: FastifyRequest): { body: Problem } {
  request.log.error({ err: error }, 'internal error')
  return { body: problem('internal', `An internal error occurred (request ${request.id}).`) }
}

function describeValidation(errors: FieldError[]): string {
  const fields = [...new Set(errors.map((e) => e.field).filter((f) => f !== ''))]
  if (fields.length === 0) return 'the request is not valid'
  return `invalid ${fields.join(', ')}`
}
