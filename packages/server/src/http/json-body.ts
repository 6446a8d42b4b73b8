/**
 * Many clients send `content-type: application/json` on every request, a DELETE with no body
 * included: an empty body is taken as no body (the route's schema then says whether one was
 * needed), anything else is parsed by fastify's own JSON parser (with its prototype-poisoning guard).
 */
import type { FastifyInstance } from 'fastify'

export function registerJsonBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') {
      done(null, undefined)
      return
    }
    parseJson(request, text, done)
  })
}
