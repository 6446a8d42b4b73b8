import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type AccessRule, decide, type WeeklySchedule } from './access-rule.ts'
import { isLatchkeyError } from './errors.ts'
import {
  assertGrantable,
  canChangeSettings,
  canManageAccess,
  type GranteeType,
  levelRank,
  ORG_ROLES,
  type OrgRole,
  PERMISSION_LEVELS,
  type PermissionLevel,
  shareRule,
} from './permissions.ts'

function thrown(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isLatchkeyError(error)) return error.code
    throw error
  }
  return 'no error'
}

const HOUR = 3_600_000
const startsAt = Date.UTC(2026, 4, 1, 8)
const endsAt = startsAt + 4 * HOUR
const schedule: WeeklySchedule = { slots: [{ days: [2], start: '09:00', end: '12:00' }] }

describe('levels and roles', () => {
  it('orders the levels owner > admin > maintenance > restricted > one_time', () => {
    expect(PERMISSION_LEVELS).toEqual(['owner', 'admin', 'maintenance', 'restricted', 'one_time'])
    expect(PERMISSION_LEVELS.map(levelRank)).toEqual([4, 3, 2, 1, 0])
    expect(thrown(() => levelRank('guest' as PermissionLevel))).toBe('validation_failed')
    expect(ORG_ROLES).toEqual(['owner', 'admin', 'member'])
  })

  it('lets owners and admins manage access and settings, not members', () => {
    expect(ORG_ROLES.map((role) => [role, canManageAccess(role), canChangeSettings(role)])).toEqual([
      ['owner', true, true],
      ['admin', true, true],
      ['member', false, false],
    ])
    expect(canManageAccess('guest' as OrgRole)).toBe(false)
  })
})

describe('assertGrantable', () => {
  const outcome = (granterRole: OrgRole, level: PermissionLevel, grantee: GranteeType) =>
    thrown(() => assertGrantable({ granterRole, level, grantee }))

  it('follows the table: unique codes at most maintenance, nobody above their own role, members nothing', () => {
    const table = ORG_ROLES.flatMap((role) =>
      (['user', 'unique_code'] as const).map((grantee) => [
        role,
        grantee,
        PERMISSION_LEVELS.map((level) => outcome(role, level, grantee)),
      ]),
    )
    const ok = 'no error'
    const no = 'level_not_allowed'
    const forbidden = Array(5).fill('forbidden')
    expect(table).toEqual([
      //                            owner admin maint. restr. one_time
      ['owner', 'user', [ok, ok, ok, ok, ok]],
      ['owner', 'unique_code', [no, no, ok, ok, ok]],
      ['admin', 'user', [no, ok, ok, ok, ok]],
      ['admin', 'unique_code', [no, no, ok, ok, ok]],
      ['member', 'user', forbidden],
      ['member', 'unique_code', forbidden],
    ])
  })

  it('refuses unknown roles, levels and grantees', () => {
    expect(outcome('guest' as OrgRole, 'one_time', 'user')).toBe('forbidden')
    expect(outcome('owner', 'superuser' as PermissionLevel, 'user')).toBe('level_not_allowed')
    expect(outcome('owner', 'one_time', 'group' as GranteeType)).toBe('validation_failed')
  })

  it('never lets a unique code above maintenance nor anyone above their role', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ORG_ROLES),
        fc.constantFrom(...PERMISSION_LEVELS),
        fc.constantFrom<GranteeType>('user', 'unique_code'),
        (role, level, grantee) => {
          const granted = outcome(role, level, grantee) === 'no error'
          if (!granted) return
          expect(role).not.toBe('member')
          expect(levelRank(level)).toBeLessThanOrEqual(levelRank(role as PermissionLevel))
          if (grantee === 'unique_code')
            expect(levelRank(level)).toBeLessThanOrEqual(levelRank('maintenance'))
        },
      ),
    )
  })
})

describe('shareRule', () => {
  it('gives owner, admin and maintenance a permanent rule', () => {
    for (const level of ['owner', 'admin', 'maintenance'] as const) {
      expect(shareRule({ level })).toEqual({ kind: 'permanent' })
      expect(thrown(() => shareRule({ level, endsAt }))).toBe('invalid_window')
      expect(thrown(() => shareRule({ level, schedule }))).toBe('invalid_schedule')
    }
  })

  it('gives restricted a window or a weekly schedule, and refuses it without either or with both', () => {
    expect(shareRule({ level: 'restricted', startsAt, endsAt })).toEqual({ kind: 'timed', startsAt, endsAt })
    expect(shareRule({ level: 'restricted', schedule })).toEqual({ kind: 'recurring', schedule })
    expect(thrown(() => shareRule({ level: 'restricted' }))).toBe('invalid_window')
    expect(thrown(() => shareRule({ level: 'restricted', endsAt }))).toBe('invalid_window')
    expect(thrown(() => shareRule({ level: 'restricted', startsAt: endsAt, endsAt: startsAt }))).toBe(
      'invalid_window',
    )
    expect(thrown(() => shareRule({ level: 'restricted', startsAt, endsAt, schedule }))).toBe(
      'invalid_schedule',
    )
    expect(thrown(() => shareRule({ level: 'restricted', schedule: { slots: [] } }))).toBe('invalid_schedule')
  })

  it('gives one_time a code that opens once, within its window when it has one', () => {
    const once = shareRule({ level: 'one_time' })
    expect(once).toEqual({ kind: 'one_time' })
    const lock = { nowMs: startsAt + HOUR, timezone: 'Europe/Berlin', graceMs: 0 }
    expect(decide(once, { uses: 0 }, lock)).toEqual({ allow: true })
    expect(decide(once, { uses: 1 }, lock)).toEqual({ allow: false, reason: 'already_used' })
    const windowed: AccessRule = shareRule({ level: 'one_time', startsAt, endsAt })
    expect(windowed).toEqual({ kind: 'one_time', startsAt, endsAt })
    expect(decide(windowed, { uses: 0 }, { ...lock, nowMs: endsAt })).toEqual({
      allow: false,
      reason: 'expired',
    })
    expect(thrown(() => shareRule({ level: 'one_time', schedule }))).toBe('invalid_schedule')
  })

  it('refuses an unknown level', () => {
    expect(thrown(() => shareRule({ level: 'guest' as PermissionLevel }))).toBe('validation_failed')
  })
})
