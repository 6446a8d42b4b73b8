/**
 * The audit log (SPEC §7): `GET /events` (paged JSON), `GET /events.csv` (a download, bounded) and
 * `GET /events/stream` (server-sent events, read from the store every second, so an event recorded
 * by any server process reaches every stream). Every member of the organization reads it.
 */
import { pipeline, Readable } from 'node:stream'
import { LatchkeyError } from '@latchkey/core'
import { stringify } from 'csv-stringify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  allEvents,
  apiEvent,
  CSV_COLUMNS,
  csvRecord,
  type EventFilter,
  lastEventId,
  listEvents,
} from '../events/index.ts'
import { AUTHENTICATED, problems, requireAuth } from '../http/index.ts'
import type { RouteOptions } from './context.ts'
import {
  ZEventFilterQuery,
  ZListEventsQuery,
  ZListEventsResponse,
  ZStreamEventsQuery,
} from './events.schemas.ts'

const typesOf = (type: string | undefined): string[] | undefined =>
  type
    ?.split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')

/** The filter of a query: types split, `from`/`to` as instants. */
const filterOf = (query: {
  lockId?: string | undefined
  accessCodeId?: string | undefined
  uniqueCodeId?: string | undefined
  propertyId?: string | undefined
  type?: string | undefined
  from?: string | undefined
  to?: string | undefined
}): EventFilter => ({
  lockId: query.lockId,
  accessCodeId: query.accessCodeId,
  uniqueCodeId: query.uniqueCodeId,
  propertyId: query.propertyId,
  types: typesOf(query.type),
  from: query.from === undefined ? undefined : new Date(query.from),
  to: query.to === undefined ? undefined : new Date(query.to),
})

export interface EventStreamOptions {
  /** Real time between two reads of the store. */
  pollMs: number
  /** A stream ends after this long (the browser's EventSource reconnects with Last-Event-ID). */
  maxDurationMs: number
  /** A comment line this often keeps proxies from closing a quiet stream. */
  heartbeatMs: number
  /** Streams open at once in this process; more are refused with 503. */
  maxStreams: number
}

export const DEFAULT_EVENT_STREAM: EventStreamOptions = {
  pollMs: 1000,
  maxDurationMs: 10 * 60_000,
  heartbeatMs: 15_000,
  maxStreams: 200,
}

export const eventRoutes: FastifyPluginAsyncZod<
  RouteOptions & { stream?: Partial<EventStreamOptions> }
> = async (app, { deps, stream }) => {
  const streamOptions = { ...DEFAULT_EVENT_STREAM, ...stream }
  let openStreams = 0
  let shuttingDown = false
  // open streams end when the server closes (they would hold it open for minutes)
  app.addHook('preClose', async () => {
    shuttingDown = true
  })

  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'The audit log, newest first, by cursor',
        security: AUTHENTICATED,
        querystring: ZListEventsQuery,
        response: { 200: ZListEventsResponse, ...problems(400, 401) },
      },
    },
    async (request) => {
      const { after, limit, order } = request.query
      const page = await listEvents(deps.db, requireAuth(request).organizationId, {
        ...filterOf(request.query),
        after: after === undefined ? undefined : Number(after),
        limit,
        order,
      })
      return { ...page, items: page.items.map(apiEvent) }
    },
  )

  app.get(
    '/events.csv',
    {
      schema: {
        tags: ['events'],
        summary: 'The audit log as CSV (newest first)',
        description: `Columns: ${CSV_COLUMNS.join(', ')}. Streamed, any size; a text that a spreadsheet would run as a formula starts with an apostrophe.`,
        security: AUTHENTICATED,
        querystring: ZEventFilterQuery,
        produces: ['text/csv'],
        response: { 200: z.string().describe('text/csv'), ...problems(400, 401) },
      },
    },
    async (request, reply) => {
      const { organizationId } = requireAuth(request)
      const rows = Readable.from(allEvents(deps.db, organizationId, filterOf(request.query))).map(csvRecord)
      const csv = stringify({
        header: true,
        columns: [...CSV_COLUMNS],
        record_delimiter: 'windows',
        escape_formulas: true,
      })
      // a failure after the first bytes cannot become a problem+json any more: the download breaks
      // off, and the error (of any stream of the chain) is logged, never thrown out of the process
      pipeline(rows, csv, (error) => {
        if (error) request.log.error({ err: error }, 'CSV export failed')
      })
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="latchkey-events.csv"')
        .send(csv as unknown as string) // a stream: the schema documents its text
    },
  )

  app.get(
    '/events/stream',
    {
      schema: {
        tags: ['events'],
        summary: 'New events as they are recorded (server-sent events)',
        description:
          'Each message is `id: <event id>` and `data: <Event JSON>`. Reconnecting with `Last-Event-ID` (or `after`) resumes without a gap. A stream ends after 10 minutes; EventSource reconnects by itself.',
        security: AUTHENTICATED,
        querystring: ZStreamEventsQuery,
        produces: ['text/event-stream'],
        response: { 200: z.string().describe('text/event-stream'), ...problems(400, 401) },
      },
    },
    async (request, reply) => {
      const { organizationId } = requireAuth(request)
      const { after } = request.query
      const filter = filterOf(request.query)
      const lastEventIdHeader = request.headers['last-event-id']
      const resumeFrom =
        typeof lastEventIdHeader === 'string' && /^\d{1,18}$/.test(lastEventIdHeader)
          ? lastEventIdHeader
          : after
      let cursor = resumeFrom === undefined ? await lastEventId(deps.db, organizationId) : Number(resumeFrom)
      if (openStreams >= streamOptions.maxStreams) {
        throw new LatchkeyError('service_unavailable', 'too many event streams are open; try again later')
      }
      openStreams += 1
      reply.hijack()
      const raw = reply.raw
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      })
      raw.write(`retry: ${streamOptions.pollMs * 2}\n\n`)
      const started = Date.now()
      let lastWrite = Date.now()
      let closed = false
      // the response closes when the client goes away (or when it ends)
      raw.on('close', () => {
        closed = true
      })
      try {
        const rounds = Math.ceil(streamOptions.maxDurationMs / streamOptions.pollMs) + 1
        for (
          let round = 0;
          round < rounds && !closed && !shuttingDown && Date.now() - started < streamOptions.maxDurationMs;
          round++
        ) {
          const { items } = await listEvents(deps.db, organizationId, {
            ...filter,
            after: cursor,
            limit: 100,
            order: 'asc',
          })
          for (const event of items) {
            raw.write(`id: ${event.id}\ndata: ${JSON.stringify(apiEvent(event))}\n\n`)
            cursor = event.id
            lastWrite = Date.now()
          }
          if (items.length === 100) continue
          if (Date.now() - lastWrite >= streamOptions.heartbeatMs) {
            raw.write(': keep-alive\n\n')
            lastWrite = Date.now()
          }
          await new Promise((resolve) => setTimeout(resolve, streamOptions.pollMs))
        }
      } catch (error) {
        request.log.error({ err: error }, 'event stream failed')
      } finally {
        openStreams -= 1
        raw.end()
      }
    },
  )
}
