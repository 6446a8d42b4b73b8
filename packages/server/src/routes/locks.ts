/** Locks of the organization: owners and admins register, change and remove them; every member reads them. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  createLock,
  createMatterLock,
  deleteLock,
  diagnoseLock,
  getLock,
  LOCK_DIAGNOSIS_CHECKS,
  type LockView,
  listLocks,
  updateLock,
} from '../devices/index.ts'
import {
  AUTHENTICATED,
  iso,
  isoOrNull,
  OWNER_OR_ADMIN,
  problems,
  requireAuth,
  requireRole,
  ZIdParams,
} from '../http/index.ts'
import type { RouteOptions } from './context.ts'
import {
  LOCK_PROBLEMS,
  type TLock,
  ZCreateLockRequest,
  ZCreateLockResponse,
  ZListLocksQuery,
  ZListLocksResponse,
  ZLock,
  ZUpdateLockRequest,
} from './locks.schemas.ts'

export const toApiLock = (lock: LockView): TLock => ({
  id: lock.id,
  name: lock.name,
  timezone: lock.timezone,
  model: lock.model,
  driver: lock.driver,
  gatewayId: lock.gatewayId,
  online: lock.online,
  lastSeenAt: isoOrNull(lock.lastSeenAt),
  battery: lock.battery,
  clockOffsetMs: lock.clockOffsetMs,
  clockSyncedAt: isoOrNull(lock.clockSyncedAt),
  clockSet: lock.clockSet,
  capacity: { used: lock.codesOnLock, total: lock.capacity },
  warnings:
    lock.revocationsLeftOut > 0
      ? [
          {
            code: 'revocation_list_full',
            message: `the lock's revocation list is full: ${lock.revocationsLeftOut} revoked ${lock.revocationsLeftOut === 1 ? 'share or code does' : 'shares or codes do'} not fit on it, and can still open the lock until they expire (eKeys within 24 hours)`,
          },
        ]
      : [],
  createdAt: iso(lock.createdAt),
  updatedAt: iso(lock.updatedAt),
})

export const lockRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/locks',
    {
      schema: {
        tags: ['locks'],
        summary: 'Register a lock (its provisioning bundle is shown once), or commission a Matter lock',
        description:
          'Answers the lock and its provisioning `bundle`, which holds the lock secret: hand it to the lock (`POST /sim/locks {bundle}` for a simulated one) and keep no copy. With `driver: matter` the server commissions the Matter lock `matter` names into its own fabric and answers the lock (no bundle); a lock it cannot commission is `lock_offline`.',
        security: AUTHENTICATED,
        body: ZCreateLockRequest,
        response: {
          201: ZCreateLockResponse,
          ...problems(400, 401, 403, 404),
          409: LOCK_PROBLEMS.lockOffline,
          422: LOCK_PROBLEMS.invalid,
        },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'register locks')
      if (request.body.driver === 'matter') {
        const { lock } = await createMatterLock(
          deps.db,
          deps.secrets,
          deps.matter,
          deps.clock.now(),
          auth,
          request.body,
        )
        return reply.code(201).send(toApiLock(lock))
      }
      const { lock, bundle } = await createLock(deps.db, deps.secrets, deps.clock.now(), auth, request.body)
      return reply.code(201).send({ ...toApiLock(lock), bundle })
    },
  )

  app.get(
    '/locks',
    {
      schema: {
        tags: ['locks'],
        summary: 'Locks of the organization, with their status',
        security: AUTHENTICATED,
        querystring: ZListLocksQuery,
        response: { 200: ZListLocksResponse, ...problems(400, 401) },
      },
    },
    async (request) => {
      const page = await listLocks(deps.db, requireAuth(request).organizationId, request.query)
      return { ...page, items: page.items.map(toApiLock) }
    },
  )

  app.get(
    '/locks/:id',
    {
      schema: {
        tags: ['locks'],
        summary: 'One lock and its status: online, last seen, clock offset, battery, capacity',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZLock, ...problems(401, 404) },
      },
    },
    async (request) =>
      toApiLock(await getLock(deps.db, requireAuth(request).organizationId, request.params.id)),
  )

  app.get(
    '/locks/:id/diagnosis',
    {
      schema: {
        tags: ['locks'],
        summary: 'What is wrong with a lock: each check pass, warn or fail with a sentence',
        description:
          'Checks the gateway and the radio link, the lock’s clock as it is now (from its events when they are newer than the last sync), its battery, its capacity, a keypad lockout, its recent refusals and the commands waiting for its answer.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: {
          200: z
            .object({
              lockId: z.uuid(),
              result: z.enum(['pass', 'warn', 'fail']).describe('The worst result of the checks.'),
              checkedAt: z.iso.datetime(),
              checks: z.array(
                z.object({
                  check: z.enum(LOCK_DIAGNOSIS_CHECKS),
                  result: z.enum(['pass', 'warn', 'fail']),
                  message: z.string(),
                }),
              ),
            })
            .meta({ id: 'LockDiagnosis' }),
          ...problems(401, 404),
        },
      },
    },
    async (request) =>
      diagnoseLock(deps.db, requireAuth(request).organizationId, request.params.id, deps.clock.now()),
  )

  app.patch(
    '/locks/:id',
    {
      schema: {
        tags: ['locks'],
        summary: 'Rename a lock, change its time zone or its gateway',
        description:
          'A new time zone is sent to the lock at once (sealed `configure`), or when it is next reached.',
        security: AUTHENTICATED,
        params: ZIdParams,
        body: ZUpdateLockRequest,
        response: { 200: ZLock, ...problems(400, 401, 403, 404), 422: LOCK_PROBLEMS.invalid },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'change locks')
      const { lock, changed } = await updateLock(
        deps.db,
        deps.clock.now(),
        auth,
        request.params.id,
        request.body,
      )
      if (changed.includes('timezone') && lock.gatewayId !== null && lock.driver === 'latchkey') {
        // When the lock cannot take it now, its next table report shows the old zone and it is sent again.
        await deps.channel
          .send(lock.id, { type: 'configure', timezone: lock.timezone })
          .catch((error: unknown) => {
            request.log.warn({ err: error, lockId: lock.id }, 'the new time zone could not be sent now')
          })
      }
      return toApiLock(lock)
    },
  )

  app.delete(
    '/locks/:id',
    {
      schema: {
        tags: ['locks'],
        summary: 'Remove a lock (its audit stays)',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 204: z.null().describe('Removed'), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'remove locks')
      await deleteLock(deps.db, deps.clock.now(), auth, request.params.id, deps.matter)
      return reply.code(204).send(null)
    },
  )
}
