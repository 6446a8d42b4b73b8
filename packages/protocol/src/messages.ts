/**
 * What travels inside sealed frames between the server and one lock. The gateway relays the
 * frames and can read none of this. Every message has a zod schema: `parse*` validates (throws
 * LatchkeyError 'validation_failed'), and JSON is the serialization inside the frame.
 */
import { ACCESS_CODE_KINDS, DENY_REASONS, LatchkeyError } from '@latchkey/core'
import { z } from 'zod'

const ZHhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM')
const ZDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')

/**
 * The shape of a weekly schedule, in one place for the wire and the HTTP API: each passes its own
 * time and date strings (the wire checks them here; the API checks them later, to answer
 * `invalid_schedule`).
 */
export function weeklyScheduleSchema<T extends z.ZodType<string>, D extends z.ZodType<string>>(
  time: T,
  date: D,
) {
  return z.object({
    slots: z
      .array(
        z.object({
          days: z
            .array(z.literal([1, 2, 3, 4, 5, 6, 7]))
            .min(1)
            .max(7)
            .describe('ISO weekdays: 1 Monday … 7 Sunday.'),
          start: time,
          end: time,
        }),
      )
      .min(1)
      .max(14),
    startsOn: date.optional(),
    endsOn: date.optional(),
  })
}
export const ZWeeklySchedule = weeklyScheduleSchema(ZHhmm, ZDate)
export const ZAccessRule = z.object({
  kind: z.enum(ACCESS_CODE_KINDS),
  startsAt: z.number().int().optional(),
  endsAt: z.number().int().optional(),
  schedule: ZWeeklySchedule.optional(),
  maxUses: z.number().int().positive().optional(),
})

/** Commands: server → lock. */
export const ZCommand = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('set_code'),
    codeId: z.string().min(1),
    pin: z.string().regex(/^\d{4,10}$/),
    rule: ZAccessRule,
  }),
  z.object({ type: z.literal('remove_code'), codeId: z.string().min(1) }),
  z.object({ type: z.literal('read_table') }),
  /**
   * `notAfter` (required): the lock refuses the command after this instant (its own clock) and while
   * its clock is unset, so a gateway that holds the frame back cannot open the door at a time of its
   * choosing.
   */
  z.object({ type: z.literal('unlock'), notAfter: z.number().int() }),
  z.object({ type: z.literal('set_time'), nowMs: z.number().int() }),
  z.object({ type: z.literal('ack_events'), upToSeq: z.number().int().nonnegative() }),
  z.object({ type: z.literal('set_revocations'), keyIds: z.array(z.string()).max(1000) }),
  z.object({
    type: z.literal('configure'),
    timezone: z.string().min(1).optional(),
    graceMs: z.number().int().nonnegative().optional(),
  }),
])
export type Command = z.infer<typeof ZCommand>

/** The envelope of a command: `id` is echoed in the reply. */
export const ZCommandEnvelope = z.object({
  kind: z.literal('command'),
  id: z.string().min(1),
  command: ZCommand,
})
export type CommandEnvelope = z.infer<typeof ZCommandEnvelope>

export const LOCK_REPLY_ERRORS = [
  'lock_full',
  'duplicate_code_on_lock',
  'not_found',
  'lock_clock_not_set',
  'invalid_command',
  'command_expired',
] as const
export type LockReplyError = (typeof LOCK_REPLY_ERRORS)[number]

/** A code as the lock holds it, as read back by `read_table`. */
export const ZTableEntry = z.object({
  codeId: z.string(),
  pin: z.string(),
  rule: ZAccessRule,
  uses: z.number().int().nonnegative(),
})
export type TableEntry = z.infer<typeof ZTableEntry>

export const ZTableReport = z.object({
  capacity: z.number().int(),
  codes: z.array(ZTableEntry),
  ledgerUsed: z.number().int(),
  ledgerCapacity: z.number().int(),
  revocations: z.array(z.string()),
  clockMs: z.number().int().nullable(),
  timezone: z.string(),
})
export type TableReport = z.infer<typeof ZTableReport>

export const ZReply = z.discriminatedUnion('status', [
  z.object({
    kind: z.literal('reply'),
    id: z.string(),
    status: z.literal('ok'),
    data: z.unknown().optional(),
  }),
  z.object({
    kind: z.literal('reply'),
    id: z.string(),
    status: z.literal('error'),
    error: z.object({ code: z.enum(LOCK_REPLY_ERRORS), message: z.string() }),
  }),
])
export type Reply = z.infer<typeof ZReply>

const ZUnlockMethod = z.enum(['keypad', 'app', 'remote'])
const ZDenyReason = z.enum(DENY_REASONS)

const eventBase = { seq: z.number().int().positive(), at: z.number().int().nullable() }

/** What the lock records; `seq` is monotonic per lock, `at` is the lock's clock (null when unset). */
export const ZLockEvent = z.discriminatedUnion('type', [
  z.object({
    ...eventBase,
    type: z.literal('unlocked'),
    method: ZUnlockMethod,
    /** synced code id, `offline:<pin>` is never logged: offline codes are named by H and start hour. */
    codeId: z.string().optional(),
    offline: z.object({ h: z.number().int(), startsAt: z.number().int() }).optional(),
    keyId: z.string().optional(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('access_denied'),
    method: ZUnlockMethod,
    reason: ZDenyReason,
    codeId: z.string().optional(),
    offline: z.object({ h: z.number().int(), startsAt: z.number().int() }).optional(),
    keyId: z.string().optional(),
    /** `unknown_code` on the keypad: `deniedPinHash` of the digits typed (never the digits). */
    pinHash: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/)
      .optional(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('locked_out'),
    untilMs: z.number().int(),
    wrongAttempts: z.number().int(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('clock_set'),
    offsetMs: z.number().int().nullable(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('code_set'),
    codeId: z.string(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('code_removed'),
    codeId: z.string(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('frame_rejected'),
    reason: z.enum(['frame_truncated', 'frame_unsupported', 'frame_forged', 'frame_replayed']),
  }),
  z.object({
    ...eventBase,
    type: z.literal('events_lost'),
    count: z.number().int().positive(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('power_restored'),
  }),
])
export type LockEvent = z.infer<typeof ZLockEvent>

export const ZEventBatch = z.object({ kind: z.literal('events'), events: z.array(ZLockEvent).max(100) })
export type EventBatch = z.infer<typeof ZEventBatch>

/** Anything the lock sends up. */
export const ZLockMessage = z.union([ZReply, ZEventBatch])
export type LockMessage = z.infer<typeof ZLockMessage>

function parseWith<T>(schema: z.ZodType<T>, what: string, value: unknown): T {
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    throw new LatchkeyError(
      'validation_failed',
      `invalid ${what}: ${parsed.error.issues[0]?.message ?? 'malformed'}`,
      {
        details: parsed.error.issues,
      },
    )
  }
  return parsed.data
}

export const parseCommandEnvelope = (value: unknown): CommandEnvelope =>
  parseWith(ZCommandEnvelope, 'command', value)
export const parseLockMessage = (value: unknown): LockMessage =>
  parseWith(ZLockMessage, 'lock message', value)

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function serializeMessage(message: CommandEnvelope | LockMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}

export function decodeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch (cause) {
    throw new LatchkeyError('validation_failed', 'message is not JSON', { cause })
  }
}
