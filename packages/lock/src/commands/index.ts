/** Every command the lock understands, keyed by its type. */
import type { Command } from '@latchkey/protocol'
import type { LockContext } from '../context.ts'
import { configureBehavior, setRevocationsBehavior, unlockBehavior } from './access.ts'
import { setTimeBehavior } from './clock.ts'
import { readTableBehavior, removeCodeBehavior, setCodeBehavior } from './codes.ts'
import { ackEventsBehavior } from './events.ts'
import type { CommandBehavior, CommandBehaviors, Outcome } from './types.ts'

export const commandBehaviors: CommandBehaviors = {
  set_code: setCodeBehavior,
  remove_code: removeCodeBehavior,
  read_table: readTableBehavior,
  unlock: unlockBehavior,
  set_time: setTimeBehavior,
  ack_events: ackEventsBehavior,
  set_revocations: setRevocationsBehavior,
  configure: configureBehavior,
}

export function applyCommand(ctx: LockContext, command: Command): Outcome {
  const behavior = commandBehaviors[command.type] as CommandBehavior<Command['type']>
  return behavior(ctx, command)
}

export type { Outcome } from './types.ts'
