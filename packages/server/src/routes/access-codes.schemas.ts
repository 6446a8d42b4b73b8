import { ACCESS_CODE_KINDS } from '@latchkey/core'
import { weeklyScheduleSchema } from '@latchkey/protocol'
import { z } from 'zod'
import { DIAGNOSIS_CHECKS } from '../access-codes/index.ts'
import {
  list,
  PROBLEM_CONTENT_TYPE,
  requestTime,
  ZLocalTimestamp,
  ZProblem,
  ZTimestamp,
} from '../http/index.ts'

const problemResponse = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: ZProblem } },
})

/** Error responses of the access-code routes beyond the common ones. */
export const ACCESS_CODE_PROBLEMS = {
  duplicate: problemResponse(
    'The PIN is already live on the lock (`duplicate_code_on_lock`), or the code was deleted (`conflict`).',
  ),
  invalid: problemResponse(
    'A PIN, window or schedule the lock cannot take (`invalid_pin`, `weak_pin`, `invalid_window`, `invalid_schedule`), or an offline code the scheme cannot give (`offline_code_unavailable`).',
  ),
} as const

const ZHhmm = z.string().max(5).describe('"HH:MM", 24 h; "24:00" is midnight at the end of the day.')
const ZLocalDate = z.string().max(10).describe('A local date of the lock, "YYYY-MM-DD" (inclusive).')

export const ZWeeklySchedule = weeklyScheduleSchema(ZHhmm, ZLocalDate)
  .describe(
    'A weekly schedule in the lock’s local time; a slot whose end is at or before its start runs past midnight into the next day.',
  )
  .meta({ id: 'WeeklySchedule' })

const ZName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .describe('The label owners audit by, e.g. “Cleaner – Tuesday”.')
const ZPin = z
  .string()
  .max(32)
  .describe('A PIN of 4–10 digits (synced codes); generated (6 digits) when left out.')
const ZKind = z.enum(ACCESS_CODE_KINDS)
const ZIssue = z.object({ code: z.string(), message: z.string() }).meta({ id: 'CodeIssue' })

export const ZCreateAccessCodeRequest = z.strictObject({
  name: ZName,
  kind: ZKind,
  code: ZPin.optional(),
  startsAt: requestTime('timed: required; one_time: optional window start.').optional(),
  endsAt: requestTime('timed: required; one_time: optional window end.').optional(),
  schedule: ZWeeklySchedule.optional().describe('recurring: required.'),
  maxUses: z.number().int().min(1).max(1_000_000).optional().describe('Stops after this many opens.'),
  delivery: z
    .enum(['synced', 'offline', 'auto'])
    .optional()
    .describe(
      '`synced`: stored on the lock through a gateway; `offline`: derived from the lock’s secret, works with no gateway; `auto` (default): synced when the lock is reachable, else offline.',
    ),
})
export type TCreateAccessCodeRequest = z.infer<typeof ZCreateAccessCodeRequest>

export const ZUpdateAccessCodeRequest = z.strictObject({
  name: ZName.optional(),
  code: ZPin.optional(),
  kind: ZKind.optional(),
  startsAt: requestTime('null clears it;').nullable().optional(),
  endsAt: requestTime('null clears it;').nullable().optional(),
  schedule: ZWeeklySchedule.nullable().optional(),
  maxUses: z.number().int().min(1).max(1_000_000).nullable().optional(),
})
export type TUpdateAccessCodeRequest = z.infer<typeof ZUpdateAccessCodeRequest>

export const ZAccessCode = z
  .object({
    id: z.uuid(),
    lockId: z.uuid(),
    name: z.string(),
    kind: ZKind,
    delivery: z.enum(['synced', 'offline']),
    code: z.string().nullable().describe('The PIN; shown to owners and admins only (null for members).'),
    timezone: z
      .string()
      .describe(
        'The lock’s time zone: local times of the request are read in it, `…Local` times are shown in it.',
      ),
    startsAt: ZTimestamp.nullable(),
    startsAtLocal: ZLocalTimestamp.nullable(),
    endsAt: ZTimestamp.nullable(),
    endsAtLocal: ZLocalTimestamp.nullable(),
    schedule: ZWeeklySchedule.nullable(),
    maxUses: z.number().int().nullable(),
    uses: z.number().int().describe('Successful opens the lock reported.'),
    firstUsedAt: ZTimestamp.nullable(),
    lastUsedAt: ZTimestamp.nullable(),
    status: z.enum(['scheduled', 'setting', 'set', 'removing', 'removed', 'failed', 'issued']),
    errors: z
      .array(ZIssue)
      .describe(
        '`lock_full`, `lock_offline`, `duplicate_code_on_lock`, `lock_clock_not_set`, `failed_to_set`, `failed_to_remove`.',
      ),
    warnings: z
      .array(ZIssue)
      .describe(
        '`delay_in_setting_on_lock`, `delay_in_removing_from_lock`, `still_opens_until_lock_reached` (at once, on a change or delete made while the lock cannot be reached: the old PIN opens until it is reached), `lock_clock_drift`, `lock_full_when_due` (a scheduled code that will find no slot when it is due: the day it starts, and the day before when the lead brings it on earlier), and for offline codes `delivered_offline` (`auto` found the lock out of reach; the window it gave), `offline_code_cannot_be_revoked_remotely`, `must_be_used_within_24_hours` / `_6_hours`.',
      ),
    firstUseBy: ZTimestamp.nullable().describe('Offline codes: the first use must come before this.'),
    firstUseByLocal: ZLocalTimestamp.nullable(),
    setOnLockAt: ZTimestamp.nullable().describe('When the lock confirmed holding it.'),
    expiredAt: ZTimestamp.nullable().describe('When its window ended.'),
    createdAt: ZTimestamp,
    updatedAt: ZTimestamp.describe('The last change by a user.'),
    deletedAt: ZTimestamp.nullable(),
  })
  .meta({ id: 'AccessCode' })
export type TAccessCode = z.infer<typeof ZAccessCode>

export const ZListAccessCodesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
  includeRemoved: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .describe('Also list codes deleted and taken off the lock.'),
})
export const ZListAccessCodesResponse = list(ZAccessCode)

const SEARCH_STATUSES = [
  'scheduled',
  'setting',
  'set',
  'removing',
  'removed',
  'failed',
  'issued',
  'errors',
] as const

export const ZSearchAccessCodesQuery = z.strictObject({
  status: z
    .string()
    .max(200)
    .optional()
    .transform((value, ctx) => {
      const items = value
        ?.split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
      for (const item of items ?? []) {
        if (!(SEARCH_STATUSES as readonly string[]).includes(item)) {
          ctx.addIssue({ code: 'custom', message: `one or more of ${SEARCH_STATUSES.join(', ')}` })
          return z.NEVER
        }
      }
      return items as (typeof SEARCH_STATUSES)[number][] | undefined
    })
    .describe(
      'One status or several, comma-separated; `errors` matches every code with an error (e.g. `lock_full`). Without it: every code but those deleted and removed from the lock.',
    ),
  lockId: z.string().max(64).optional(),
  propertyId: z
    .string()
    .max(64)
    .optional()
    .describe('The codes on the property’s locks; another organization’s property finds nothing.'),
  q: z.string().max(100).optional().describe('Part of the code’s name, any case (e.g. a person’s name).'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
})

export const ZLockIdParams = z.object({ lockId: z.string().max(64) })

export const ZDiagnosis = z
  .object({
    accessCodeId: z.uuid(),
    lockId: z.uuid(),
    result: z.enum(['pass', 'warn', 'fail']).describe('The worst result of the checks.'),
    checkedAt: ZTimestamp,
    checks: z.array(
      z.object({
        check: z.enum(DIAGNOSIS_CHECKS),
        result: z.enum(['pass', 'warn', 'fail']),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'AccessCodeDiagnosis' })

export const ZImportAccessCodesRequest = z.strictObject({
  rows: z
    .array(z.unknown())
    .min(1)
    .max(1000)
    .describe('Each row as the body of `POST /locks/{lockId}/access-codes`; at most 1,000 per request.'),
  dryRun: z.boolean().optional().describe('Check every row without making any code.'),
})

export const ZImportAccessCodesResponse = z
  .object({
    dryRun: z.boolean(),
    created: z.number().int(),
    refused: z.number().int(),
    items: z.array(
      z.union([
        z.object({ row: z.number().int(), status: z.literal('created'), code: ZAccessCode }),
        z.object({
          row: z.number().int(),
          status: z.literal('refused'),
          error: z.object({ code: z.string(), message: z.string() }),
        }),
      ]),
    ),
  })
  .meta({ id: 'AccessCodeImport' })
