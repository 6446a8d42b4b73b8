/** Unique codes (SPEC §4): owners and admins create, list, delete them and reset their device binding. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AUTHENTICATED, iso, OWNER_OR_ADMIN, problems, requireRole, ZIdParams } from '../http/index.ts'
import {
  createUniqueCode,
  deleteUniqueCode,
  diagnoseUniqueCode,
  listUniqueCodes,
  resetUniqueCodeDevice,
  UNIQUE_CODE_DIAGNOSIS_CHECKS,
  type UniqueCodeView,
} from '../unique-codes/index.ts'
import type { RouteOptions } from './context.ts'
import {
  type TUniqueCode,
  UNPROCESSABLE,
  ZCreateUniqueCodeRequest,
  ZListUniqueCodesQuery,
  ZListUniqueCodesResponse,
  ZUniqueCode,
} from './unique-codes.schemas.ts'

const toApi = (code: UniqueCodeView): TUniqueCode => ({
  ...code,
  expiresAt: iso(code.expiresAt),
  createdAt: iso(code.createdAt),
})

const TAGS = ['unique-codes']

export const uniqueCodeRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/unique-codes',
    {
      schema: {
        tags: TAGS,
        summary: 'Create a unique code (owner or admin)',
        description:
          'Refused with 403 `unique_codes_disabled` while the organization setting `uniqueCodesEnabled` is off, 422 `expiry_in_past` or `expiry_too_far` (more than six calendar months away).',
        security: AUTHENTICATED,
        body: ZCreateUniqueCodeRequest,
        response: { 201: ZUniqueCode, ...problems(400, 401, 403), ...UNPROCESSABLE },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'create unique codes')
      const code = await createUniqueCode(deps.db, deps.secrets, deps.clock.now(), auth, {
        description: request.body.description,
        expiresAt: new Date(request.body.expiresAt),
      })
      return reply.code(201).send(toApi(code))
    },
  )

  app.get(
    '/unique-codes',
    {
      schema: {
        tags: TAGS,
        summary: 'The unique codes of the organization (owner or admin), newest first',
        security: AUTHENTICATED,
        querystring: ZListUniqueCodesQuery,
        response: { 200: ZListUniqueCodesResponse, ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'see unique codes')
      const codes = await listUniqueCodes(
        deps.db,
        deps.secrets,
        deps.clock.now(),
        auth.organizationId,
        request.query.status,
      )
      return { items: codes.map(toApi) }
    },
  )

  app.delete(
    '/unique-codes/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Delete a unique code (owner or admin)',
        description:
          'Ends at once every access it gives: Code Login refuses it, its app sessions end, its shares are revoked and its eKeys go onto the locks’ revocation lists.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 204: z.null().describe('Deleted'), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'delete unique codes')
      await deleteUniqueCode(deps.db, deps.clock.now(), auth, request.params.id)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/unique-codes/:id/reset-device',
    {
      schema: {
        tags: TAGS,
        summary: 'Release the device a unique code is bound to (owner or admin)',
        description: 'Signs the bound device out; the next device to log in with the code is bound to it.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZUniqueCode, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'reset the device of unique codes')
      return toApi(
        await resetUniqueCodeDevice(deps.db, deps.secrets, deps.clock.now(), auth, request.params.id),
      )
    },
  )

  app.get(
    '/unique-codes/:id/diagnosis',
    {
      schema: {
        tags: TAGS,
        summary:
          'Why a unique code does not work: each check pass, warn or fail with a sentence (owner or admin)',
        description:
          'Checks the code (active, expired or deleted; a deleted code is still diagnosed), the locks shared to it and at which level, the device it is bound to, and its recent Code Logins and how they failed.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: {
          200: z
            .object({
              uniqueCodeId: z.uuid(),
              result: z.enum(['pass', 'warn', 'fail']).describe('The worst result of the checks.'),
              checkedAt: z.iso.datetime(),
              checks: z.array(
                z.object({
                  check: z.enum(UNIQUE_CODE_DIAGNOSIS_CHECKS),
                  result: z.enum(['pass', 'warn', 'fail']),
                  message: z.string(),
                }),
              ),
            })
            .meta({ id: 'UniqueCodeDiagnosis' }),
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'diagnose unique codes')
      return diagnoseUniqueCode(deps.db, auth.organizationId, request.params.id, deps.clock.now())
    },
  )
}
