/** Recognising database errors by SQLSTATE (through drizzle's wrapper), never by message; and the shape of a stored id. */
export function sqlState(error: unknown): string | undefined {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

export const isUniqueViolation = (error: unknown): boolean => sqlState(error) === '23505'

/**
 * PostgreSQL ended the transaction to break a deadlock (40P01) or a serialization conflict (40001):
 * nothing of it was kept, and run again it may well go through.
 */
export const isTransactionConflict = (error: unknown): boolean => {
  const state = sqlState(error)
  return state === '40P01' || state === '40001'
}

/**
 * Runs `work` (a transaction, or a single statement, with no effect outside the database) again when
 * PostgreSQL ended it for a conflict, at most `attempts` times in all; any other error, or the last
 * conflict, is thrown.
 */
export async function retryOnConflict<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (attempt >= attempts || !isTransactionConflict(error)) throw error
    }
  }
}

/** Socket errors of a database that is down or restarting (node's codes, on the error or a cause). */
const UNREACHABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'])
/**
 * What node-postgres throws when a connection ends under a query: it gives these no code, so here
 * alone they are known by their words.
 */
const PG_CONNECTION_ENDED = /^(Connection terminated|Client has encountered a connection error)/

/**
 * The database is not reachable (stopped, restarting, crashed): SQLSTATE class 08 (connection
 * exception) or 57P01–57P03 (shut down, crashed, not yet accepting), a socket error, or a connection
 * node-postgres saw end. The request may well succeed in a moment.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  const state = sqlState(error)
  if (state !== undefined && (state.startsWith('08') || /^57P0[123]$/.test(state))) return true
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown }
    if (typeof code === 'string' && UNREACHABLE_SOCKET_CODES.has(code)) return true
    if (typeof message === 'string' && PG_CONNECTION_ENDED.test(message)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Ids in paths are UUIDs; anything else names nothing (404, not a database error). */
export const isUuid = (value: string): boolean => UUID.test(value)
