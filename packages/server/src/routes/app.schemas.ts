import { ZWeeklySchedule } from '@latchkey/protocol'
import { z } from 'zod'
import { list, ZLocalTimestamp, ZTimestamp } from '../http/index.ts'
import { ZPermissionLevel } from './permissions.schemas.ts'

export const ZCodeLoginRequest = z.strictObject({
  code: z
    .string()
    .max(64)
    .describe('The unique code as typed: any case, spaces and dashes ignored, O read as 0, I and L as 1.'),
  deviceId: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .describe('A stable id of the app installation; the code is bound to the first device that logs in.'),
})
export type TCodeLoginRequest = z.infer<typeof ZCodeLoginRequest>

export const ZAppLock = z
  .object({
    id: z.uuid(),
    name: z.string(),
    timezone: z.string(),
    level: ZPermissionLevel,
    startsAt: ZTimestamp.nullable(),
    startsAtLocal: ZLocalTimestamp.nullable(),
    endsAt: ZTimestamp.nullable(),
    endsAtLocal: ZLocalTimestamp.nullable(),
    schedule: ZWeeklySchedule.nullable(),
    accessEndsAt: ZTimestamp.nullable().describe('When access ends by itself; null: never.'),
    accessEndsAtLocal: ZLocalTimestamp.nullable(),
  })
  .meta({ id: 'AppLock' })
export type TAppLock = z.infer<typeof ZAppLock>

export const ZCodeLoginResponse = z.object({
  token: z.string().describe('Bearer token of the app session (also set as an HttpOnly cookie).'),
  expiresAt: ZTimestamp.describe('The session ends here at the latest (never after the code expires).'),
  locks: z.array(ZAppLock),
})
export type TCodeLoginResponse = z.infer<typeof ZCodeLoginResponse>

export const ZAppLocksResponse = list(ZAppLock)
export type TAppLocksResponse = z.infer<typeof ZAppLocksResponse>

export const ZEKeyResponse = z
  .object({
    credential: z.string().describe('Present it to the lock over the radio link.'),
    keyId: z.uuid(),
    notBefore: ZTimestamp,
    notAfter: ZTimestamp,
  })
  .meta({ id: 'EKey' })
export type TEKeyResponse = z.infer<typeof ZEKeyResponse>

export const ZAppLockParams = z.object({ id: z.string().max(64) })
