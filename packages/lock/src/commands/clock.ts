/** set_time: the server's time, relayed by the gateway but sealed, so a gateway cannot move the clock. */
import { rtcNow, rtcSet } from '../rtc.ts'
import type { CommandBehavior } from './types.ts'
import { fail, ok } from './types.ts'

/**
 * A set_time may move a set clock back by this much at any time, and by this many ppm of the time its
 * clock ran since it was last set (ten times what a worn crystal drifts). More than that is not drift:
 * the frame was held back on its way (a gateway can delay a sealed frame, not change it), and taking it
 * would reopen windows that have ended.
 */
export const MAX_SET_BACK_MS = 5 * 60_000
export const MAX_SET_BACK_PPM = 500

/** Sets the RTC; logs and replies the offset new − old (null when the clock was unset). */
export const setTimeBehavior: CommandBehavior<'set_time'> = (ctx, command) => {
  const { rtc } = ctx.state
  const now = rtcNow(rtc, ctx.worldNow())
  if (now !== null && rtc.base !== null) {
    const back = now - command.nowMs
    const allowed = Math.max(MAX_SET_BACK_MS, (now - rtc.base.valueMs) * MAX_SET_BACK_PPM * 1e-6)
    if (back > allowed) {
      return fail(
        'command_expired',
        `the time it carries is ${Math.round(back / 1000)} s behind the lock's clock, more than drift explains (at most ${Math.round(allowed / 1000)} s): it was held back`,
      )
    }
  }
  const before = rtcSet(rtc, ctx.worldNow(), command.nowMs)
  const offsetMs = before === null ? null : command.nowMs - before
  ctx.log({ type: 'clock_set', offsetMs })
  return ok({ offsetMs })
}
