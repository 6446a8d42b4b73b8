/** set_code, remove_code and read_table: the synced code table as the server manages it. */
import { isLatchkeyError, validateRule } from '@latchkey/core'
import type { TableReport } from '@latchkey/protocol'
import { removeCode, setCode } from '../code-table.ts'
import type { CommandBehavior } from './types.ts'
import { fail, ok } from './types.ts'

/** Adds or replaces a code. Replies `lock_full`, `duplicate_code_on_lock` or `invalid_command`. */
export const setCodeBehavior: CommandBehavior<'set_code'> = (ctx, command) => {
  try {
    validateRule(command.rule)
  } catch (error) {
    if (isLatchkeyError(error)) return fail('invalid_command', error.message)
    throw error
  }
  const outcome = setCode(ctx.state.codes, ctx.bundle.capacity, command)
  if (!outcome.ok) return fail(outcome.code, outcome.message)
  ctx.log({ type: 'code_set', codeId: command.codeId })
  return ok({ replaced: outcome.replaced })
}

/** Removes a code; removing a code the lock does not hold is fine (the result is the same). */
export const removeCodeBehavior: CommandBehavior<'remove_code'> = (ctx, command) => {
  const removed = removeCode(ctx.state.codes, command.codeId)
  if (removed) ctx.log({ type: 'code_removed', codeId: command.codeId })
  return ok({ removed })
}

/** The table as the lock holds it, PINs included (the reply is sealed end to end). */
export const readTableBehavior: CommandBehavior<'read_table'> = (ctx) => {
  const { state, bundle } = ctx
  const report: TableReport = {
    capacity: bundle.capacity,
    codes: state.codes.map((c) => ({ ...c })),
    ledgerUsed: state.offline.oneTime.length,
    ledgerCapacity: bundle.ledgerCapacity,
    revocations: [...state.ekeys.revoked],
    clockMs: ctx.clockNow(),
    timezone: state.settings.timezone,
  }
  return ok(report)
}
