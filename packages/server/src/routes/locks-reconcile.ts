/** POST /locks/{id}/reconcile: read the lock's code table and repair any difference now (owner or admin). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { getLock } from '../devices/index.ts'
import { AUTHENTICATED, OWNER_OR_ADMIN, problems, requireRole, ZIdParams } from '../http/index.ts'
import { requestReconcile } from '../reconciler/index.ts'
import type { RouteOptions } from './context.ts'
import { ZReconcileResponse } from './locks.schemas.ts'

export const lockReconcileRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/locks/:id/reconcile',
    {
      schema: {
        tags: ['locks'],
        summary: 'Read the code table from the lock and repair any difference now',
        description:
          'Answers at once; the lock is asked for its table as soon as it can be reached, and missing, extra or wrong codes are put right. Follow the codes’ `status` and the events.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 202: ZReconcileResponse, ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'reconcile locks')
      const lock = await getLock(deps.db, auth.organizationId, request.params.id)
      await requestReconcile(deps, lock.id, { readTable: true })
      return reply.code(202).send({ status: 'requested' as const })
    },
  )
}
