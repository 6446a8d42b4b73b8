import { z } from 'zod'
import { list, ZTimestamp, ZTimestampQuery } from '../http/index.ts'

const ZId = z.string().max(64)

/** The filters every events route takes. */
export const ZEventFilterQuery = z.strictObject({
  lockId: ZId.optional(),
  accessCodeId: ZId.optional(),
  uniqueCodeId: ZId.optional(),
  propertyId: ZId.optional().describe(
    'The events of the property’s locks (the locks it has now) and of its stays; another organization’s property finds nothing.',
  ),
  type: z
    .string()
    .max(500)
    .optional()
    .describe('One event type, or several separated by commas (e.g. `lock.unlocked,lock.access_denied`).'),
  from: ZTimestampQuery.optional().describe('Only events that occurred at or after this instant.'),
  to: ZTimestampQuery.optional().describe('Only events that occurred before this instant.'),
})

export const ZListEventsQuery = ZEventFilterQuery.extend({
  after: z
    .string()
    .regex(/^\d{1,18}$/, 'an event id')
    .optional()
    .describe('The `nextCursor` of the previous page.'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  order: z.enum(['desc', 'asc']).default('desc').describe('Newest first (default) or oldest first.'),
})
export type TListEventsQuery = z.infer<typeof ZListEventsQuery>

export const ZStreamEventsQuery = ZEventFilterQuery.extend({
  after: z
    .string()
    .regex(/^\d{1,18}$/, 'an event id')
    .optional()
    .describe('Start after this event id (as the `Last-Event-ID` header does); default: only new events.'),
})

export const ZEvent = z
  .object({
    id: z.string().describe('Increases with each event recorded; the cursor of paging and of the stream.'),
    type: z.string().describe('e.g. `lock.unlocked`, `access_code.created` (docs/EVENTS.md).'),
    lockId: z.uuid().nullable(),
    accessCodeId: z.uuid().nullable(),
    uniqueCodeId: z.uuid().nullable(),
    gatewayId: z.uuid().nullable(),
    actorUserId: z.uuid().nullable(),
    data: z
      .record(z.string(), z.unknown())
      .describe(
        "What the event says: `label` (the code's name), `lockName`, `method`, `reason`, ... by type.",
      ),
    occurredAt: ZTimestamp.describe("When it happened (a lock event: the lock's clock)."),
    recordedAt: ZTimestamp.describe('When the server stored it.'),
  })
  .meta({ id: 'Event' })
export type TEvent = z.infer<typeof ZEvent>

export const ZListEventsResponse = list(ZEvent)
export type TListEventsResponse = z.infer<typeof ZListEventsResponse>
