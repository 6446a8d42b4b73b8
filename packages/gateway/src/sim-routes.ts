/**
 * The simulator control API (SPEC §9): drives the simulated locks of a gateway over HTTP, in the
 * `latchkey sim` process and on the demo server under /sim. Errors are application/problem+json
 * with a stable `code` (404 not_found for an unknown lock, 400 validation_failed for a bad body).
 */
import {
  type FieldError,
  isLatchkeyError,
  LatchkeyError,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  problem,
  problemDetails,
  type SimulatedClock,
} from '@latchkey/core'
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify'
import type { z } from 'zod'
import type { Gateway } from './gateway.ts'
import {
  ZAttachLockRequest,
  ZEKeyRequest,
  ZGatewayLinkRequest,
  ZKeypadRequest,
  ZLockClockRequest,
  ZLockIdParams,
  ZRadioRequest,
  ZWorldClockRequest,
} from './sim-routes.types.ts'

export interface SimRoutesOptions {
  gateway: Gateway
  /** The world clock shared by the simulated locks (and by the demo server). */
  world: SimulatedClock
  /** GET/POST /sim/clock: only where the server's clock is simulated too (the demo server, tests). */
  allowWorldClock: boolean
  /**
   * Keypads of locks this gateway does not host, by lock id (the demo's virtual Matter lock): typing
   * on them answers as on a simulated lock, `{result: unlocked | denied, reason?}`.
   */
  keypads?: ReadonlyMap<string, (digits: string) => Promise<KeypadAnswer>>
}

export type KeypadAnswer = { result: 'unlocked' } | { result: 'denied'; reason: string }

function parse<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'params'): T {
  const parsed = schema.safeParse(value)
  if (parsed.success) return parsed.data
  const errors: FieldError[] = parsed.error.issues.map((issue) => ({
    in: where,
    field: issue.path.join('.'),
    message: issue.message,
  }))
  const fields = [...new Set(errors.map((e) => e.field).filter((f) => f !== ''))]
  const detail =
    fields.length === 0
      ? `invalid ${where}: ${errors[0]?.message ?? 'malformed'}`
      : `invalid ${fields.join(', ')}`
  throw new LatchkeyError('validation_failed', detail, { details: errors })
}

/** The problem+json body of an error; a 500 says nothing of the internals. */
export function problemOf(error: unknown): Problem {
  if (isLatchkeyError(error)) {
    if (error.status >= 500 && error.code !== 'service_unavailable')
      return problem('internal', 'internal error')
    return problem(error.code, error.userMessage, error.status, problemDetails(error.details).errors)
  }
  const status = (error as FastifyError | undefined)?.statusCode
  // Fastify's own refusals: unparsable JSON, a wrong content type, a body too large.
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return problem('validation_failed', (error as Error).message, status)
  }
  return problem('internal', 'internal error')
}

function sendProblem(reply: FastifyReply, problem: Problem) {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem)
}

export const simRoutes: FastifyPluginAsync<SimRoutesOptions> = async (app, options) => {
  const { gateway, world, allowWorldClock, keypads } = options

  // The schemas below describe the routes (the demo server's OpenAPI document shows them, tagged
  // `simulator`); the handlers validate with `parse`, so fastify neither compiles nor checks them.
  app.setValidatorCompiler(() => (data) => ({ value: data }))
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))
  const doc = (summary: string, parts: { params?: unknown; body?: unknown; description?: string } = {}) => ({
    schema: { tags: ['simulator'], summary, ...parts },
  })
  const byId = { params: ZLockIdParams }

  app.setErrorHandler((error, request, reply) => {
    const problem = problemOf(error)
    if (problem.status >= 500) request.log.error({ err: error }, 'simulator control API failed')
    return sendProblem(reply, problem)
  })

  const lockView = (id: string) => ({ ...gateway.requireLock(id).view(), inRange: gateway.isInRange(id) })
  const lockId = (params: unknown) => parse(ZLockIdParams, params, 'params').id

  app.get('/sim/locks', doc('The simulated locks of this gateway'), async () => ({
    items: gateway.locks().map((lock) => lockView(lock.id)),
  }))

  app.post(
    '/sim/locks',
    doc('Attach a lock to this gateway by its provisioning bundle', { body: ZAttachLockRequest }),
    async (request, reply) => {
      const { bundle } = parse(ZAttachLockRequest, request.body, 'body')
      const lock = await gateway.attach(bundle)
      return reply.code(201).send(lockView(lock.id))
    },
  )

  app.get(
    '/sim/locks/:id',
    doc('The lock’s own state: code table, ledger, clock, lockout, event seq, radio', byId),
    async (request) => lockView(lockId(request.params)),
  )

  app.post(
    '/sim/locks/:id/keypad',
    doc('Type a PIN on the keypad → `{result: unlocked | denied, reason?}`', {
      ...byId,
      body: ZKeypadRequest,
    }),
    async (request) => {
      const id = lockId(request.params)
      const other = keypads?.get(id)
      if (other === undefined) gateway.requireLock(id)
      const { digits } = parse(ZKeypadRequest, request.body, 'body')
      return other === undefined ? gateway.keypad(id, digits) : other(digits)
    },
  )

  app.post(
    '/sim/locks/:id/ekey',
    doc('Present an app credential (eKey) over the radio link', { ...byId, body: ZEKeyRequest }),
    async (request) => {
      const id = lockId(request.params)
      gateway.requireLock(id)
      const { credential } = parse(ZEKeyRequest, request.body, 'body')
      return gateway.presentEKey(id, credential)
    },
  )

  app.post(
    '/sim/locks/:id/clock',
    doc('Move, skew or reset this lock’s clock', { ...byId, body: ZLockClockRequest }),
    async (request) => {
      const id = lockId(request.params)
      gateway.requireLock(id)
      const change = parse(ZLockClockRequest, request.body, 'body')
      gateway.changeLockClock(id, change)
      return lockView(id)
    },
  )

  app.post(
    '/sim/locks/:id/radio',
    doc('Put the lock in or out of its gateway’s radio range (`{"inRange":false}`)', {
      ...byId,
      body: ZRadioRequest,
    }),
    async (request) => {
      const id = lockId(request.params)
      gateway.requireLock(id)
      const { inRange } = parse(ZRadioRequest, request.body, 'body')
      gateway.setInRange(id, inRange)
      return { id, inRange: gateway.isInRange(id) }
    },
  )

  app.get('/sim/gateway', doc('This gateway’s link to the server'), async () => gateway.status())

  app.post(
    '/sim/gateway/link',
    doc('Cut the gateway off the server, or connect it again (`{"online":false}`)', {
      body: ZGatewayLinkRequest,
    }),
    async (request) => {
      const { online } = parse(ZGatewayLinkRequest, request.body, 'body')
      gateway.setOnline(online)
      return gateway.status()
    },
  )

  const clockView = () => {
    const nowMs = world.now()
    return { nowMs, iso: new Date(nowMs).toISOString(), offsetMs: world.offsetMs }
  }
  const worldClockOff = () =>
    new LatchkeyError('not_found', 'the world clock can be moved only on the demo server (--demo)')

  app.get('/sim/clock', doc('The simulated time of the server and its locks'), async () => {
    if (!allowWorldClock) throw worldClockOff()
    return clockView()
  })

  app.post(
    '/sim/clock',
    doc('Move the server’s clock and every simulated lock’s clock forward together', {
      body: ZWorldClockRequest,
    }),
    async (request) => {
      if (!allowWorldClock) throw worldClockOff()
      const { advanceMs } = parse(ZWorldClockRequest, request.body, 'body')
      world.advance(advanceMs)
      return clockView()
    },
  )
}
