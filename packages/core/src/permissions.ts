/**
 * Who may do what (SPEC §4, §8): organization roles, per-lock permission levels, and what a share
 * at a given level lets its holder do on the lock, expressed as an AccessRule for decide().
 */
import { type AccessRule, validateRule, type WeeklySchedule } from './access-rule.ts'
import { LatchkeyError } from './errors.ts'

/** Per-lock permission levels, highest first. */
export const PERMISSION_LEVELS = ['owner', 'admin', 'maintenance', 'restricted', 'one_time'] as const
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number]

/** Roles of a user in an organization. */
export const ORG_ROLES = ['owner', 'admin', 'member'] as const
export type OrgRole = (typeof ORG_ROLES)[number]

export type GranteeType = 'unique_code' | 'user'

/** The highest level a unique code may be given. */
export const MAX_UNIQUE_CODE_LEVEL: PermissionLevel = 'maintenance'

export function isPermissionLevel(value: unknown): value is PermissionLevel {
  return typeof value === 'string' && (PERMISSION_LEVELS as readonly string[]).includes(value)
}

export function isOrgRole(value: unknown): value is OrgRole {
  return typeof value === 'string' && (ORG_ROLES as readonly string[]).includes(value)
}

/** Larger is higher: owner 4, admin 3, maintenance 2, restricted 1, one_time 0. */
export function levelRank(level: PermissionLevel): number {
  const index = PERMISSION_LEVELS.indexOf(level)
  if (index < 0)
    throw new LatchkeyError('validation_failed', `unknown permission level ${JSON.stringify(level)}`)
  return PERMISSION_LEVELS.length - 1 - index
}

/** Owners and admins create access codes, unique codes and shares; members do not. */
export function canManageAccess(role: OrgRole): boolean {
  return role === 'owner' || role === 'admin'
}

/** Owners and admins change the organization's settings (e.g. uniqueCodesEnabled). */
export function canChangeSettings(role: OrgRole): boolean {
  return role === 'owner' || role === 'admin'
}

/** The highest level a role may grant: its own (an admin cannot make an owner). */
function grantCeiling(role: OrgRole): PermissionLevel | null {
  return role === 'owner' ? 'owner' : role === 'admin' ? 'admin' : null
}

/**
 * Throws `forbidden` when the granter's role grants nothing (members, unknown roles) and
 * `level_not_allowed` when the level is above the granter's own role or, for a unique code,
 * above maintenance.
 */
export function assertGrantable(input: {
  granterRole: OrgRole
  level: PermissionLevel
  grantee: GranteeType
}): void {
  const { granterRole, level, grantee } = input
  const ceiling = isOrgRole(granterRole) ? grantCeiling(granterRole) : null
  if (ceiling === null) throw new LatchkeyError('forbidden', 'only owners and admins share locks')
  if (grantee !== 'unique_code' && grantee !== 'user') {
    throw new LatchkeyError('validation_failed', 'a share goes to a unique code or a user')
  }
  if (!isPermissionLevel(level)) {
    throw new LatchkeyError('level_not_allowed', `unknown permission level ${JSON.stringify(level)}`)
  }
  if (grantee === 'unique_code' && levelRank(level) > levelRank(MAX_UNIQUE_CODE_LEVEL)) {
    throw new LatchkeyError(
      'level_not_allowed',
      'a unique code may be given maintenance, restricted or one_time, never more',
    )
  }
  if (levelRank(level) > levelRank(ceiling)) {
    throw new LatchkeyError('level_not_allowed', `an ${granterRole} cannot grant the ${level} level`)
  }
}

export interface ShareRuleInput {
  level: PermissionLevel
  startsAt?: number
  endsAt?: number
  schedule?: WeeklySchedule
}

/**
 * What a share lets its holder do on the lock:
 *   owner, admin, maintenance → permanent (no window, no schedule: giving one is refused);
 *   restricted → timed (startsAt and endsAt) or recurring (schedule), exactly one of the two;
 *   one_time → opens once, optionally within startsAt … endsAt.
 * Throws `invalid_window` / `invalid_schedule` (as validateRule) or `validation_failed` for an unknown level.
 */
export function shareRule(input: ShareRuleInput): AccessRule {
  const { level, startsAt, endsAt, schedule } = input
  const hasWindow = startsAt != null || endsAt != null
  const hasSchedule = schedule != null
  let rule: AccessRule
  switch (level) {
    case 'owner':
    case 'admin':
    case 'maintenance':
      if (hasSchedule) throw new LatchkeyError('invalid_schedule', `a ${level} share has no schedule`)
      if (hasWindow) throw new LatchkeyError('invalid_window', `a ${level} share has no window`)
      rule = { kind: 'permanent' }
      break
    case 'restricted':
      if (hasWindow && hasSchedule) {
        throw new LatchkeyError(
          'invalid_schedule',
          'a restricted share takes a window or a weekly schedule, not both',
        )
      }
      if (hasSchedule) rule = { kind: 'recurring', schedule }
      else if (hasWindow) rule = { kind: 'timed', startsAt, endsAt }
      else throw new LatchkeyError('invalid_window', 'a restricted share needs a window or a weekly schedule')
      break
    case 'one_time':
      if (hasSchedule) throw new LatchkeyError('invalid_schedule', 'a one_time share has no weekly schedule')
      rule = { kind: 'one_time' }
      if (startsAt != null) rule.startsAt = startsAt
      if (endsAt != null) rule.endsAt = endsAt
      break
    default:
      throw new LatchkeyError('validation_failed', `unknown permission level ${JSON.stringify(level)}`)
  }
  validateRule(rule)
  return rule
}
