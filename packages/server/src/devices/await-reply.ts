/**
 * Waiting (briefly, bounded) for the lock's answer to a command. The reply may reach any server
 * process, so the answer is read from the command's row in the store, not from memory.
 */
import { eq } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { lockCommands } from '../store/index.ts'

export interface CommandOutcome {
  status: 'done' | 'failed' | 'pending'
  error?: { code: string; message: string }
}

const POLL_MS = 50

export async function awaitReply(db: Db, commandId: string, timeoutMs: number): Promise<CommandOutcome> {
  const deadline = Date.now() + timeoutMs
  const rounds = Math.ceil(timeoutMs / POLL_MS) + 1
  for (let round = 0; round < rounds; round++) {
    const [row] = await db
      .select({ status: lockCommands.status, reply: lockCommands.reply })
      .from(lockCommands)
      .where(eq(lockCommands.id, commandId))
    if (row !== undefined && row.status !== 'pending') {
      const error = (row.reply as { error?: { code: string; message: string } } | null)?.error
      return {
        status: row.status,
        ...(error === undefined ? {} : { error: { code: error.code, message: error.message } }),
      }
    }
    if (Date.now() >= deadline) break
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  return { status: 'pending' }
}
