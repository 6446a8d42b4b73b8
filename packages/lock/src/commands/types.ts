/**
 * A command behaviour: what the lock does with one kind of command, and what it replies. Behaviours
 * are keyed by the command's `type` (commands/index.ts), like the mock behaviours of a Z-Wave device.
 */
import type { Command, LockReplyError } from '@latchkey/protocol'
import type { LockContext } from '../context.ts'

export type Outcome =
  | { status: 'ok'; data?: unknown }
  | { status: 'error'; error: { code: LockReplyError; message: string } }

export type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>

export type CommandBehavior<T extends Command['type']> = (ctx: LockContext, command: CommandOf<T>) => Outcome

export type CommandBehaviors = { [T in Command['type']]: CommandBehavior<T> }

export const ok = (data?: unknown): Outcome =>
  data === undefined ? { status: 'ok' } : { status: 'ok', data }

export const fail = (code: LockReplyError, message: string): Outcome => ({
  status: 'error',
  error: { code, message },
})
