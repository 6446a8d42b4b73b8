/** set_time: the server's time, relayed by the gateway but sealed, so a gateway cannot move the clock. */
import { rtcSet } from '../rtc.ts'
import type { CommandBehavior } from './types.ts'
import { ok } from './types.ts'

/** Sets the RTC; logs and replies the offset new − old (null when the clock was unset). */
export const setTimeBehavior: CommandBehavior<'set_time'> = (ctx, command) => {
  const before = rtcSet(ctx.state.rtc, ctx.worldNow(), command.nowMs)
  const offsetMs = before === null ? null : command.nowMs - before
  ctx.log({ type: 'clock_set', offsetMs })
  return ok({ offsetMs })
}
