/**
 * Remote actions on a lock (owner or admin): unlock it, sync its clock.
 * Unlock and sync need the lock reachable now (409 `lock_offline`: they are never queued for later,
 * see devices/mqtt-lock-channel.ts `qosOf`); they wait a few seconds for the lock's answer: 200 when it confirmed, 202 when it was
 * sent but has not answered yet (a lock whose gateway is away gets it when the gateway is back).
 */
import { LatchkeyError } from '@latchkey/core'
import type { Command } from '@latchkey/protocol'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import {
  awaitReply,
  drivenElsewhereError,
  getLock,
  requireDriverFeature,
  type SendOptions,
  UNLOCK_TTL_MS,
} from '../devices/index.ts'
import { AUTHENTICATED, OWNER_OR_ADMIN, problems, requireRole, ZIdParams } from '../http/index.ts'
import type { RouteOptions } from './context.ts'
import { LOCK_PROBLEMS, ZLockCommandResponse } from './locks.schemas.ts'

/** How long a remote action waits for the lock's answer before answering 202. */
export const REPLY_WAIT_MS = 5_000

export const lockActionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  /** Sends a command to a lock that can be reached now, and waits a while for its answer. */
  async function sendAndAwait(
    lock: { id: string; name: string },
    unreachable: string,
    command: Command,
    options?: SendOptions,
  ) {
    if (!(await deps.channel.reachable(lock.id))) {
      if (await deps.channel.drivenElsewhere?.(lock.id)) throw drivenElsewhereError()
      throw new LatchkeyError('lock_offline', `${lock.name} ${unreachable}`)
    }
    const { commandId } = await deps.channel.send(lock.id, command, options)
    return { commandId, ...(await awaitReply(deps.db, commandId, REPLY_WAIT_MS)) }
  }

  app.post(
    '/locks/:id/unlock',
    {
      schema: {
        tags: ['locks'],
        summary: 'Open the lock now (sealed remote unlock)',
        description:
          'Audited as `lock.unlocked` with method `remote` and the user who asked. 409 `lock_offline` when the lock cannot be reached now; 503 `service_unavailable` when another server process drives the lock (a Matter lock of its fabric): ask again.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: {
          200: ZLockCommandResponse,
          202: ZLockCommandResponse,
          ...problems(401, 403, 404, 503),
          409: LOCK_PROBLEMS.lockOffline,
        },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'unlock locks remotely')
      const lock = await getLock(deps.db, auth.organizationId, request.params.id)
      const outcome = await sendAndAwait(
        lock,
        lock.driver === 'matter'
          ? 'cannot be reached now (the server has no live connection to it)'
          : 'cannot be reached now (its gateway is offline or it is out of range)',
        { type: 'unlock', notAfter: deps.clock.now() + UNLOCK_TTL_MS },
        { requestedBy: { userId: auth.userId } },
      )
      return reply.code(outcome.status === 'pending' ? 202 : 200).send(outcome)
    },
  )

  app.post(
    '/locks/:id/sync-time',
    {
      schema: {
        tags: ['locks'],
        summary: "Set the lock's clock to the server's time (sealed set_time)",
        description: 'The offset the lock had shows as `clockOffsetMs` on the lock once it answered.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: {
          200: ZLockCommandResponse,
          202: ZLockCommandResponse,
          ...problems(401, 403, 404),
          409: LOCK_PROBLEMS.lockOffline,
          422: LOCK_PROBLEMS.invalid,
        },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'sync lock clocks')
      const lock = await getLock(deps.db, auth.organizationId, request.params.id)
      requireDriverFeature(lock.driver, 'clock_sync')
      const outcome = await sendAndAwait(
        lock,
        'cannot be reached now; its gateway syncs it when it is back',
        {
          type: 'set_time',
          nowMs: deps.clock.now(),
        },
      )
      return reply.code(outcome.status === 'pending' ? 202 : 200).send(outcome)
    },
  )
}
