/** unlock (remote), set_revocations and configure. */
import { isValidTimezone } from '@latchkey/core'
import type { CommandBehavior } from './types.ts'
import { fail, ok } from './types.ts'

/**
 * Opens the door at the server's request; logged as method `remote`. Refused once the lock's clock is
 * past the command's `notAfter` (plus the grace for drift), and while the clock is unset, since the
 * lock then cannot tell a fresh command from one a gateway held back.
 */
export const unlockBehavior: CommandBehavior<'unlock'> = (ctx, command) => {
  const now = ctx.clockNow()
  if (now === null)
    return fail('lock_clock_not_set', 'the clock is not set: a timed unlock cannot be checked')
  if (now > command.notAfter + ctx.state.settings.graceMs) {
    return fail('command_expired', `the unlock expired at ${new Date(command.notAfter).toISOString()}`)
  }
  ctx.log({ type: 'unlocked', method: 'remote' })
  return ok()
}

/** Replaces the revocation list (eKey keyIds, and offline codes as `offline:<H>:<startsAt>`). */
export const setRevocationsBehavior: CommandBehavior<'set_revocations'> = (ctx, command) => {
  ctx.state.ekeys.revoked = [...new Set(command.keyIds)]
  return ok({ count: ctx.state.ekeys.revoked.length })
}

/** Largest grace a lock accepts for synced codes and eKeys. */
export const MAX_GRACE_MS = 60 * 60_000

/** Changes the lock's time zone (recurring codes) and its grace for drift. */
export const configureBehavior: CommandBehavior<'configure'> = (ctx, command) => {
  if (command.timezone !== undefined && !isValidTimezone(command.timezone)) {
    return fail('invalid_command', `unknown time zone ${command.timezone}`)
  }
  if (command.graceMs !== undefined && command.graceMs > MAX_GRACE_MS) {
    return fail('invalid_command', `grace is at most ${MAX_GRACE_MS} ms`)
  }
  const { settings } = ctx.state
  if (command.timezone !== undefined) settings.timezone = command.timezone
  if (command.graceMs !== undefined) settings.graceMs = command.graceMs
  return ok({ timezone: settings.timezone, graceMs: settings.graceMs })
}
