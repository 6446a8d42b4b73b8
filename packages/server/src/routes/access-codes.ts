/**
 * Keypad access codes of a lock (SPEC §3, §8): owners and admins create, change and delete them;
 * every member reads them (the PIN is shown to owners and admins only).
 */
import { LatchkeyError } from '@latchkey/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import {
  createAccessCode,
  deleteAccessCode,
  diagnoseAccessCode,
  findCode,
  findLock,
  type ImportRow,
  importAccessCodes,
  listAccessCodes,
  lockTimezone,
  lockTimezones,
  searchAccessCodes,
  toView,
  updateAccessCode,
} from '../access-codes/index.ts'
import {
  AUTHENTICATED,
  OWNER_OR_ADMIN,
  problems,
  requireAuth,
  requireRole,
  ZIdParams,
} from '../http/index.ts'
import {
  ACCESS_CODE_PROBLEMS,
  ZAccessCode,
  ZCreateAccessCodeRequest,
  ZDiagnosis,
  ZImportAccessCodesRequest,
  ZImportAccessCodesResponse,
  ZListAccessCodesQuery,
  ZListAccessCodesResponse,
  ZLockIdParams,
  ZSearchAccessCodesQuery,
  ZUpdateAccessCodeRequest,
} from './access-codes.schemas.ts'
import type { RouteOptions } from './context.ts'

export const accessCodeRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/locks/:lockId/access-codes',
    {
      schema: {
        tags: ['access codes'],
        summary: 'Create a keypad code on a lock (owner or admin)',
        description:
          'Answers the code with its `status` (`scheduled`, `setting` — with the error `lock_full` while it waits for a free slot —, `failed` only for what no retry mends; offline codes `issued`), its PIN (`code`), `errors` and `warnings`.',
        security: AUTHENTICATED,
        params: ZLockIdParams,
        body: ZCreateAccessCodeRequest,
        response: {
          201: ZAccessCode,
          ...problems(400, 401, 403, 404),
          409: ACCESS_CODE_PROBLEMS.duplicate,
          422: ACCESS_CODE_PROBLEMS.invalid,
        },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'create access codes')
      const code = await createAccessCode(deps, auth, request.params.lockId, request.body)
      const timezone = await lockTimezone(deps.db, code.lockId)
      return reply.code(201).send(toView(deps.secrets, code, auth.role, timezone))
    },
  )

  app.post(
    '/locks/:lockId/access-codes/import',
    {
      schema: {
        tags: ['access codes'],
        summary: 'Create many codes on a lock at once (owner or admin): one answer per row',
        description:
          'Each row is made as by `POST /locks/{lockId}/access-codes`; a refused row (with its error) never stops the others. `dryRun` checks every row and keeps nothing (each row on its own: two rows of one dry run with the same PIN both pass).',
        security: AUTHENTICATED,
        params: ZLockIdParams,
        body: ZImportAccessCodesRequest,
        response: { 200: ZImportAccessCodesResponse, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'create access codes')
      const rows: ImportRow[] = request.body.rows.map((raw) => {
        const parsed = ZCreateAccessCodeRequest.safeParse(raw)
        if (parsed.success) return { ok: true, input: parsed.data }
        const issue = parsed.error.issues[0]!
        const field = issue.path.join('.')
        return {
          ok: false,
          error: new LatchkeyError(
            'validation_failed',
            field === '' ? issue.message : `${field}: ${issue.message}`,
          ),
        }
      })
      const dryRun = request.body.dryRun ?? false
      const results = await importAccessCodes(deps, auth, request.params.lockId, rows, dryRun)
      const timezone = await lockTimezone(deps.db, request.params.lockId)
      const items = results.map((result) =>
        result.status === 'created'
          ? {
              row: result.row,
              status: result.status,
              code: toView(deps.secrets, result.code, auth.role, timezone),
            }
          : {
              row: result.row,
              status: result.status,
              error: { code: result.error.code, message: result.error.userMessage },
            },
      )
      const created = items.filter((item) => item.status === 'created').length
      return { dryRun, created, refused: items.length - created, items }
    },
  )

  app.get(
    '/locks/:lockId/access-codes',
    {
      schema: {
        tags: ['access codes'],
        summary: 'Codes of a lock, oldest first',
        security: AUTHENTICATED,
        params: ZLockIdParams,
        querystring: ZListAccessCodesQuery,
        response: { 200: ZListAccessCodesResponse, ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const auth = requireAuth(request)
      const lock = await findLock(deps.db, auth.organizationId, request.params.lockId)
      const page = await listAccessCodes(deps.db, auth.organizationId, lock.id, request.query)
      return {
        ...page,
        items: page.items.map((code) => toView(deps.secrets, code, auth.role, lock.timezone)),
      }
    },
  )

  app.get(
    '/access-codes',
    {
      schema: {
        tags: ['access codes'],
        summary: 'Codes across every lock of the organization: by status, lock, property and name',
        description:
          'Oldest first, by cursor. `q` finds a name in any case (“cleaner” finds “Cleaner – Tuesday”); `status=errors` every code with an error.',
        security: AUTHENTICATED,
        querystring: ZSearchAccessCodesQuery,
        response: { 200: ZListAccessCodesResponse, ...problems(400, 401) },
      },
    },
    async (request) => {
      const auth = requireAuth(request)
      const page = await searchAccessCodes(deps.db, auth.organizationId, request.query)
      const zones = await lockTimezones(
        deps.db,
        page.items.map((code) => code.lockId),
      )
      return {
        ...page,
        items: page.items.map((code) =>
          toView(deps.secrets, code, auth.role, zones.get(code.lockId) ?? 'UTC'),
        ),
      }
    },
  )

  app.get(
    '/access-codes/:id',
    {
      schema: {
        tags: ['access codes'],
        summary: 'One code, with its status on the lock',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZAccessCode, ...problems(401, 404) },
      },
    },
    async (request) => {
      const auth = requireAuth(request)
      const code = await findCode(deps.db, auth.organizationId, request.params.id)
      return toView(deps.secrets, code, auth.role, await lockTimezone(deps.db, code.lockId))
    },
  )

  app.patch(
    '/access-codes/:id',
    {
      schema: {
        tags: ['access codes'],
        summary: 'Change a code (owner or admin); only the fields given change',
        description:
          'A synced code may change its name, PIN, kind, window, schedule and use limit (null clears a field); the lock gets the change (`setting`) and keeps the use count. An offline code changes only its name.',
        security: AUTHENTICATED,
        params: ZIdParams,
        body: ZUpdateAccessCodeRequest,
        response: {
          200: ZAccessCode,
          ...problems(400, 401, 403, 404),
          409: ACCESS_CODE_PROBLEMS.duplicate,
          422: ACCESS_CODE_PROBLEMS.invalid,
        },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'change access codes')
      const code = await updateAccessCode(deps, auth, request.params.id, request.body)
      return toView(deps.secrets, code, auth.role, await lockTimezone(deps.db, code.lockId))
    },
  )

  app.delete(
    '/access-codes/:id',
    {
      schema: {
        tags: ['access codes'],
        summary: 'Delete a code (owner or admin): `removing`, then `removed` when the lock confirms',
        description:
          'A code the lock never got is `removed` at once. An offline code cannot be revoked remotely: it stops when the lock is next reached through a gateway.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZAccessCode, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'delete access codes')
      const code = await deleteAccessCode(deps, auth, request.params.id)
      return toView(deps.secrets, code, auth.role, await lockTimezone(deps.db, code.lockId))
    },
  )

  app.get(
    '/access-codes/:id/diagnosis',
    {
      schema: {
        tags: ['access codes'],
        summary: 'Why a code does not work: each check pass, warn or fail with a sentence',
        description:
          'Checks the lock the code is for, its window against the lock’s local time, the lock’s clock, whether the code reached the lock, the lock’s capacity, a keypad lockout, and the lock’s recent refusals of the code.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZDiagnosis, ...problems(401, 404) },
      },
    },
    async (request) => {
      const auth = requireAuth(request)
      const code = await findCode(deps.db, auth.organizationId, request.params.id)
      return diagnoseAccessCode(deps.db, deps.secrets, code, deps.clock.now())
    },
  )
}
