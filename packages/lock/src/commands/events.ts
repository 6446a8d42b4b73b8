/** ack_events: the server stored every event up to this seq; the lock may forget them. */
import { ackEvents } from '../event-ring.ts'
import type { CommandBehavior } from './types.ts'
import { ok } from './types.ts'

export const ackEventsBehavior: CommandBehavior<'ack_events'> = (ctx, command) => {
  const { state, bundle } = ctx
  const ackedUpToSeq = ackEvents(state.events, bundle.eventCapacity, command.upToSeq, ctx.clockNow())
  return ok({ ackedUpToSeq })
}
