import { z } from 'zod'
import { list, ZTimestamp } from '../http/index.ts'

const ZHhmm = z.string().max(5).describe('Local time "HH:MM" (24 h) in the property’s zone.')
const ZIssue = z.object({ code: z.string(), message: z.string() })

const propertyFields = {
  name: z.string().trim().min(1).max(100),
  timezone: z.string().max(64).describe('IANA zone, e.g. Europe/Berlin.'),
  lockIds: z
    .array(z.string().max(64))
    .max(20)
    .describe('The property’s locks: each stay’s PIN goes on all of them.'),
  checkInTime: ZHhmm.describe('Default 15:00.'),
  checkOutTime: ZHhmm.describe('Default 10:00.'),
  bufferBeforeMinutes: z.number().int().min(0).max(1440),
  bufferAfterMinutes: z.number().int().min(0).max(1440),
  codeLength: z.number().int().min(4).max(10).describe('Digits of a random PIN (default 6).'),
  codeStrategy: z
    .enum(['random', 'phone_last4'])
    .describe('`phone_last4`: the guest’s phone’s last 4 digits when free on every lock, else random.'),
  messageTemplate: z
    .string()
    .max(2000)
    .describe('With {{guestName}}, {{code}}, {{checkIn}}, {{checkOut}}, {{propertyName}}.'),
}

export const ZCreatePropertyRequest = z.strictObject({
  name: propertyFields.name,
  timezone: propertyFields.timezone,
  lockIds: propertyFields.lockIds,
  checkInTime: propertyFields.checkInTime.optional(),
  checkOutTime: propertyFields.checkOutTime.optional(),
  bufferBeforeMinutes: propertyFields.bufferBeforeMinutes.optional(),
  bufferAfterMinutes: propertyFields.bufferAfterMinutes.optional(),
  codeLength: propertyFields.codeLength.optional(),
  codeStrategy: propertyFields.codeStrategy.optional(),
  messageTemplate: propertyFields.messageTemplate.optional(),
})
export const ZUpdatePropertyRequest = ZCreatePropertyRequest.partial()

export const ZProperty = z
  .object({ id: z.uuid(), ...propertyFields, name: z.string(), createdAt: ZTimestamp, updatedAt: ZTimestamp })
  .meta({ id: 'Property' })
export const ZListProperties = list(ZProperty)

export const ZListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
  propertyId: z.string().max(64).optional(),
})

const ZStayTime = z
  .string()
  .max(40)
  .describe(
    'A date ("2027-03-08", at the property’s check-in/out time) or a date-time, local or with an offset.',
  )

export const ZCreateStayRequest = z.strictObject({
  propertyId: z.string().max(64),
  guestName: z.string().trim().min(1).max(100),
  checkIn: ZStayTime,
  checkOut: ZStayTime,
  phone: z.string().max(40).nullable().optional(),
})
export const ZUpdateStayRequest = z.strictObject({
  guestName: z.string().trim().min(1).max(100).optional(),
  checkIn: ZStayTime.optional(),
  checkOut: ZStayTime.optional(),
  phone: z.string().max(40).nullable().optional(),
  status: z.literal('cancelled').optional().describe('Cancels the stay: its code comes off every lock.'),
})

export const ZStay = z
  .object({
    id: z.uuid(),
    propertyId: z.uuid(),
    guestName: z.string(),
    checkIn: z.string(),
    checkOut: z.string(),
    checkInAt: ZTimestamp,
    checkOutAt: ZTimestamp,
    checkInAtLocal: z.string(),
    checkOutAtLocal: z.string(),
    phone: z.string().nullable(),
    source: z.enum(['manual', 'calendar']),
    calendarId: z.uuid().nullable(),
    externalUid: z.string().nullable(),
    status: z.enum(['upcoming', 'active', 'ended', 'cancelled']),
    code: z.string().nullable().describe('The PIN on every lock (owners and admins).'),
    codeSource: z.enum(['random', 'phone_last4']),
    locks: z.array(
      z.object({
        lockId: z.uuid(),
        accessCodeId: z.uuid(),
        status: z.string(),
        errors: z.array(ZIssue),
        warnings: z.array(ZIssue),
      }),
    ),
    backupCodes: z.array(
      z.object({
        lockId: z.uuid(),
        accessCodeId: z.uuid(),
        code: z.string().nullable(),
        startsAt: ZTimestamp.nullable(),
        endsAt: ZTimestamp.nullable(),
        firstUseBy: ZTimestamp.nullable(),
        status: z.string(),
        warnings: z.array(ZIssue),
      }),
    ),
    warnings: z.array(ZIssue).describe('`code_not_confirmed`, `code_strategy_not_applied`.'),
    createdAt: ZTimestamp,
    updatedAt: ZTimestamp,
  })
  .meta({ id: 'Stay' })
export const ZListStays = list(ZStay)

export const ZCreateCalendarRequest = z.strictObject({
  url: z.string().max(2000).describe('The iCal export URL of the booking site.'),
  name: z.string().trim().min(1).max(100).optional(),
  pollMinutes: z.number().int().min(5).max(1440).optional().describe('Default 15.'),
})
export const ZCalendar = z
  .object({
    id: z.uuid(),
    propertyId: z.uuid(),
    name: z.string(),
    url: z.string(),
    pollMinutes: z.number().int(),
    lastSyncedAt: ZTimestamp.nullable().describe('The last fetch read whole.'),
    lastAttemptAt: ZTimestamp.nullable(),
    lastError: z.string().nullable().describe('Why the last fetch changed nothing; null when it went well.'),
    nextSyncAt: ZTimestamp,
    createdAt: ZTimestamp,
  })
  .meta({ id: 'Calendar' })
export const ZListCalendars = list(ZCalendar)
export const ZStayMessage = z.object({ text: z.string(), code: z.string() })
