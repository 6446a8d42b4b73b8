/**
 * Log lines a person reads on a terminal (`latchkey serve` when stdout is one): "10:02:03 WARN  the
 * lock's clock was reset  lockId=…", instead of the JSON records a log collector wants.
 */
import type { FastifyBaseLogger } from 'fastify'
import { pino } from 'pino'

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
}
const SKIPPED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'reqId', 'v'])

/** One JSON record as one line: time, level, message, then the other fields as key=value. */
export function humanLine(record: Record<string, unknown>): string {
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now())
    .toISOString()
    .slice(11, 19)
  const level = (LEVELS[Number(record.level)] ?? 'INFO').padEnd(5)
  const err = record.err as { message?: string } | undefined
  const fields = Object.entries(record)
    .filter(([key]) => !SKIPPED.has(key) && key !== 'err')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
  const parts = [String(record.msg ?? ''), ...(err?.message ? [`(${err.message})`] : []), ...fields]
  return `${time} ${level} ${parts.filter(Boolean).join('  ')}`
}

export function humanLogger(
  level: string,
  write: (line: string) => void = (line) => process.stdout.write(line),
): FastifyBaseLogger {
  return pino(
    { level },
    {
      write(chunk: string) {
        try {
          write(`${humanLine(JSON.parse(chunk) as Record<string, unknown>)}\n`)
        } catch {
          write(chunk)
        }
      },
    },
  ) as unknown as FastifyBaseLogger
}
