/** Properties, stays and calendars (SPEC §11): owners and admins change them, every member reads (PINs for owners and admins). */
import { LatchkeyError } from '@latchkey/core'
import { eq } from 'drizzle-orm'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { canSeePins } from '../access-codes/index.ts'
import {
  AUTHENTICATED,
  OWNER_OR_ADMIN,
  problems,
  requireAuth,
  requireRole,
  ZIdParams,
} from '../http/index.ts'
import {
  cancelStaysOf,
  createCalendar,
  createProperty,
  createStay,
  deleteCalendar,
  deleteStay,
  findProperty,
  findStay,
  issueBackupCodes,
  listCalendars,
  listProperties,
  listStays,
  propertyView,
  renderMessage,
  stayView,
  syncCalendarNow,
  updateProperty,
  updateStay,
} from '../properties/index.ts'
import type { Calendar, Stay } from '../store/index.ts'
import { properties } from '../store/index.ts'
import type { RouteOptions } from './context.ts'
import {
  ZCalendar,
  ZCreateCalendarRequest,
  ZCreatePropertyRequest,
  ZCreateStayRequest,
  ZListCalendars,
  ZListProperties,
  ZListQuery,
  ZListStays,
  ZProperty,
  ZStay,
  ZStayMessage,
  ZUpdatePropertyRequest,
  ZUpdateStayRequest,
} from './properties.schemas.ts'

const calendarView = (c: Calendar) => ({
  id: c.id,
  propertyId: c.propertyId,
  name: c.name,
  url: c.url,
  pollMinutes: c.pollMinutes,
  lastSyncedAt: c.lastSyncedAt?.toISOString() ?? null,
  lastAttemptAt: c.lastAttemptAt?.toISOString() ?? null,
  lastError: c.lastError,
  nextSyncAt: c.nextSyncAt.toISOString(),
  createdAt: c.createdAt.toISOString(),
})

const TAGS = ['properties and stays']

export const propertyRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const viewOf = async (organizationId: string, stay: Stay, role: Parameters<typeof stayView>[3]) =>
    stayView(deps, stay, await findProperty(deps.db, organizationId, stay.propertyId), role)

  app.post(
    '/properties',
    {
      schema: {
        tags: TAGS,
        summary: 'Create a property (owner or admin)',
        security: AUTHENTICATED,
        body: ZCreatePropertyRequest,
        response: { 201: ZProperty, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'create properties')
      const property = await createProperty(deps.db, auth, deps.clock.now(), request.body)
      return reply.code(201).send(propertyView(property))
    },
  )
  app.get(
    '/properties',
    {
      schema: {
        tags: TAGS,
        summary: 'Properties of the organization',
        security: AUTHENTICATED,
        querystring: ZListQuery,
        response: { 200: ZListProperties, ...problems(400, 401) },
      },
    },
    async (request) => {
      const auth = requireAuth(request)
      const page = await listProperties(deps.db, auth.organizationId, request.query)
      return { ...page, items: page.items.map(propertyView) }
    },
  )
  app.get(
    '/properties/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'One property',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZProperty, ...problems(401, 404) },
      },
    },
    async (request) =>
      propertyView(await findProperty(deps.db, requireAuth(request).organizationId, request.params.id)),
  )
  app.patch(
    '/properties/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Change a property (owner or admin); stays made or moved afterwards take the change',
        security: AUTHENTICATED,
        params: ZIdParams,
        body: ZUpdatePropertyRequest,
        response: { 200: ZProperty, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'change properties')
      return propertyView(
        await updateProperty(deps.db, auth, request.params.id, deps.clock.now(), request.body),
      )
    },
  )
  app.delete(
    '/properties/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Delete a property (owner or admin): its stays are cancelled and their codes removed',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZProperty, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'delete properties')
      const property = await findProperty(deps.db, auth.organizationId, request.params.id)
      await cancelStaysOf(deps, auth, property)
      const [deleted] = await deps.db
        .update(properties)
        .set({ deletedAt: new Date(deps.clock.now()) })
        .where(eq(properties.id, property.id))
        .returning()
      return propertyView(deleted!)
    },
  )

  app.post(
    '/properties/:id/calendars',
    {
      schema: {
        tags: TAGS,
        summary: 'Add a booking calendar (iCal feed) to a property and sync it at once (owner or admin)',
        security: AUTHENTICATED,
        params: ZIdParams,
        body: ZCreateCalendarRequest,
        response: { 201: ZCalendar, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'add calendars')
      const calendar = await createCalendar(deps, auth, request.params.id, request.body)
      const synced = await syncCalendarNow(deps, auth.organizationId, calendar.id).catch(() => ({ calendar }))
      return reply.code(201).send(calendarView(synced.calendar))
    },
  )
  app.get(
    '/properties/:id/calendars',
    {
      schema: {
        tags: TAGS,
        summary: 'Calendars of a property',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZListCalendars, ...problems(401, 404) },
      },
    },
    async (request) => ({
      items: (await listCalendars(deps.db, requireAuth(request).organizationId, request.params.id)).map(
        calendarView,
      ),
    }),
  )
  app.delete(
    '/calendars/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Remove a calendar (owner or admin); its stays stay',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 204: z.null().describe('Removed'), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'remove calendars')
      await deleteCalendar(deps.db, auth.organizationId, request.params.id)
      return reply.code(204).send(null)
    },
  )
  app.post(
    '/calendars/:id/sync',
    {
      schema: {
        tags: TAGS,
        summary:
          'Fetch the feed now (owner or admin); a feed that fails changes nothing and says why in lastError',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZCalendar, ...problems(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'sync calendars')
      return calendarView((await syncCalendarNow(deps, auth.organizationId, request.params.id)).calendar)
    },
  )

  app.post(
    '/stays',
    {
      schema: {
        tags: TAGS,
        summary: 'Make a stay by hand (owner or admin): one PIN on every lock of the property',
        security: AUTHENTICATED,
        body: ZCreateStayRequest,
        response: { 201: ZStay, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'make stays')
      const stay = await createStay(deps, auth, request.body)
      return reply.code(201).send(await viewOf(auth.organizationId, stay, auth.role))
    },
  )
  app.get(
    '/stays',
    {
      schema: {
        tags: TAGS,
        summary: 'Stays (of one property with propertyId)',
        security: AUTHENTICATED,
        querystring: ZListQuery,
        response: { 200: ZListStays, ...problems(400, 401) },
      },
    },
    async (request) => {
      const auth = requireAuth(request)
      const page = await listStays(deps, auth.organizationId, request.query)
      const items = []
      for (const stay of page.items) items.push(await viewOf(auth.organizationId, stay, auth.role))
      return { ...page, items }
    },
  )
  app.get(
    '/stays/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'One stay, with its code’s status on each lock',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZStay, ...problems(401, 404) },
      },
    },
    async (request) => {
      const auth = requireAuth(request)
      return viewOf(
        auth.organizationId,
        await findStay(deps, auth.organizationId, request.params.id),
        auth.role,
      )
    },
  )
  app.patch(
    '/stays/:id',
    {
      schema: {
        tags: TAGS,
        summary:
          'Change a stay (owner or admin): new dates move the code on every lock; status cancelled removes it',
        security: AUTHENTICATED,
        params: ZIdParams,
        body: ZUpdateStayRequest,
        response: { 200: ZStay, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'change stays')
      return viewOf(
        auth.organizationId,
        await updateStay(deps, auth, request.params.id, request.body),
        auth.role,
      )
    },
  )
  app.delete(
    '/stays/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Delete a stay (owner or admin): its code comes off every lock',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZStay, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'delete stays')
      return viewOf(auth.organizationId, await deleteStay(deps, auth, request.params.id), auth.role)
    },
  )
  app.post(
    '/stays/:id/backup-code',
    {
      schema: {
        tags: TAGS,
        summary:
          'An offline code on each lock for the stay’s window, which opens with no gateway (owner or admin)',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZStay, ...problems(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const auth = requireRole(request, OWNER_OR_ADMIN, 'issue backup codes')
      const stay = await findStay(deps, auth.organizationId, request.params.id)
      await issueBackupCodes(deps, auth, stay)
      return viewOf(auth.organizationId, stay, auth.role)
    },
  )
  app.get(
    '/stays/:id/message',
    {
      schema: {
        tags: TAGS,
        summary: 'The property’s message to the guest, filled in (owner or admin: it holds the PIN)',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZStayMessage, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const auth = requireAuth(request)
      if (!canSeePins(auth.role))
        throw new LatchkeyError('forbidden', 'only owners and admins see a stay’s code')
      const stay = await findStay(deps, auth.organizationId, request.params.id)
      const property = await findProperty(deps.db, auth.organizationId, stay.propertyId)
      const view = await stayView(deps, stay, property, auth.role)
      const code = view.code ?? ''
      return { text: renderMessage(property.messageTemplate, property, stay, code), code }
    },
  )
}
