/** An access code as the API shows it. The PIN is shown to owners and admins only. */
import { type AccessCodeKind, localIso, type WeeklySchedule } from '@latchkey/core'
import type { Secrets } from '../secrets.ts'
import type { AccessCode, AccessCodeDelivery, AccessCodeStatus, CodeIssue, Role } from '../store/index.ts'
import { decryptPin } from './rule.ts'

export interface AccessCodeView {
  id: string
  lockId: string
  name: string
  kind: AccessCodeKind
  delivery: AccessCodeDelivery
  /** The PIN; null for members (only owners and admins see PINs). */
  code: string | null
  timezone: string
  startsAt: string | null
  startsAtLocal: string | null
  endsAt: string | null
  endsAtLocal: string | null
  schedule: WeeklySchedule | null
  maxUses: number | null
  uses: number
  firstUsedAt: string | null
  lastUsedAt: string | null
  status: AccessCodeStatus
  errors: CodeIssue[]
  warnings: CodeIssue[]
  /** Offline codes: the first use must come before this. */
  firstUseBy: string | null
  firstUseByLocal: string | null
  setOnLockAt: string | null
  expiredAt: string | null
  createdAt: string
  updatedAt: string
  deletedAt: string | null
}

const isoOrNull = (date: Date | null) => (date === null ? null : date.toISOString())
const localOrNull = (date: Date | null, timezone: string) =>
  date === null ? null : localIso(date.getTime(), timezone)

export function canSeePins(role: Role): boolean {
  return role === 'owner' || role === 'admin'
}

/** `timezone`: the lock's, in which the `…Local` times are shown. */
export function toView(secrets: Secrets, code: AccessCode, role: Role, timezone: string): AccessCodeView {
  return {
    id: code.id,
    lockId: code.lockId,
    name: code.name,
    kind: code.kind,
    delivery: code.delivery,
    code: canSeePins(role) ? decryptPin(secrets, code) : null,
    timezone,
    startsAt: isoOrNull(code.startsAt),
    startsAtLocal: localOrNull(code.startsAt, timezone),
    endsAt: isoOrNull(code.endsAt),
    endsAtLocal: localOrNull(code.endsAt, timezone),
    schedule: code.schedule,
    maxUses: code.maxUses,
    uses: code.uses,
    firstUsedAt: isoOrNull(code.firstUsedAt),
    lastUsedAt: isoOrNull(code.lastUsedAt),
    status: code.status,
    errors: code.errors,
    warnings: code.warnings,
    firstUseBy: isoOrNull(code.offlineFirstUseBy),
    firstUseByLocal: localOrNull(code.offlineFirstUseBy, timezone),
    setOnLockAt: isoOrNull(code.setOnLockAt),
    expiredAt: isoOrNull(code.expiredAt),
    createdAt: code.createdAt.toISOString(),
    updatedAt: code.updatedAt.toISOString(),
    deletedAt: isoOrNull(code.deletedAt),
  }
}
