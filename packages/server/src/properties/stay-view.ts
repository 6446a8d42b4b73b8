/** A stay as the API shows it: its times (UTC and the property's local time), its code on each lock, its backup codes. */

import { localIso } from '@latchkey/core'
import type { Deps } from '../access-codes/index.ts'
import { canSeePins, decryptPin } from '../access-codes/index.ts'
import type { CodeIssue, Property, Role, Stay } from '../store/index.ts'
import { stayCodesOf } from './stay-codes.ts'
import { stayStatus } from './stays.ts'

export interface StayLockCode {
  lockId: string
  accessCodeId: string
  status: string
  errors: CodeIssue[]
  warnings: CodeIssue[]
}

export interface StayBackupCode {
  lockId: string
  accessCodeId: string
  code: string | null
  startsAt: string | null
  endsAt: string | null
  firstUseBy: string | null
  status: string
  warnings: CodeIssue[]
}

export async function stayView(
  deps: Pick<Deps, 'db' | 'secrets' | 'clock'>,
  stay: Stay,
  property: Property,
  role: Role,
) {
  // a cancelled stay still shows its code on each lock until it is off (removing, then removed)
  const codes = await stayCodesOf(deps, stay.id, stay.cancelledAt ?? undefined)
  const live = codes.filter((c) => c.deletedAt === null)
  const synced = codes.filter((c) => c.delivery === 'synced')
  const backups = live.filter((c) => c.delivery === 'offline')
  const allSet = synced.length > 0 && synced.every((c) => c.status === 'set')
  const pins = canSeePins(role)
  const first = live.find((c) => c.delivery === 'synced')
  return {
    id: stay.id,
    propertyId: stay.propertyId,
    guestName: stay.guestName,
    checkIn: stay.checkIn,
    checkOut: stay.checkOut,
    checkInAt: stay.checkInAt.toISOString(),
    checkOutAt: stay.checkOutAt.toISOString(),
    checkInAtLocal: localIso(stay.checkInAt.getTime(), property.timezone),
    checkOutAtLocal: localIso(stay.checkOutAt.getTime(), property.timezone),
    phone: stay.phone,
    source:
      stay.calendarId === null && stay.externalUid === null ? ('manual' as const) : ('calendar' as const),
    calendarId: stay.calendarId,
    externalUid: stay.externalUid,
    status: stayStatus(stay, deps.clock.now()),
    code: pins && first !== undefined ? decryptPin(deps.secrets, first) : null,
    codeSource: stay.codeSource,
    locks: synced.map(
      (c): StayLockCode => ({
        lockId: c.lockId,
        accessCodeId: c.id,
        status: c.status,
        errors: c.errors,
        warnings: c.warnings,
      }),
    ),
    backupCodes: backups.map(
      (c): StayBackupCode => ({
        lockId: c.lockId,
        accessCodeId: c.id,
        code: pins ? decryptPin(deps.secrets, c) : null,
        startsAt: c.startsAt?.toISOString() ?? null,
        endsAt: c.endsAt?.toISOString() ?? null,
        firstUseBy: c.offlineFirstUseBy?.toISOString() ?? null,
        status: c.status,
        warnings: c.warnings,
      }),
    ),
    // once the code is on every lock, the warning has done its work
    warnings: stay.warnings.filter((w) => !(allSet && w.code === 'code_not_confirmed')),
    createdAt: stay.createdAt.toISOString(),
    updatedAt: stay.updatedAt.toISOString(),
  }
}
export type StayView = Awaited<ReturnType<typeof stayView>>
