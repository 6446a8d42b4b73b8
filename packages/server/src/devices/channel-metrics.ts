/**
 * What an operator watches of the lock channel on `/metrics` (SPEC §8): replies of locks to sealed
 * commands by type and outcome, events taken from locks, and — read from the store at each scrape, so
 * the same in every server process — commands still waiting for their reply and gateways connected.
 */
import { and, count, eq, isNull } from 'drizzle-orm'
import type { MetricsRegistry } from '../http/index.ts'
import type { Db } from '../store/index.ts'
import { gateways, lockCommands } from '../store/index.ts'

/** The channel's counters (the same counters when asked again). */
export function channelCounters(metrics: MetricsRegistry) {
  return {
    replies: metrics.counter(
      'latchkey_lock_command_replies_total',
      'Replies of locks to sealed commands, by command type and outcome (acknowledged, failed).',
    ),
    eventsIngested: metrics.counter(
      'latchkey_lock_events_ingested_total',
      'Events from locks stored in the audit log (each once), by lock event type.',
    ),
  }
}

export function registerChannelGauges(db: Db, metrics: MetricsRegistry): void {
  metrics.storeGauge(
    'latchkey_lock_commands_pending',
    'Sealed commands sent to locks and not answered yet (all server processes), by type.',
    async () => {
      const rows = await db
        .select({ type: lockCommands.type, n: count() })
        .from(lockCommands)
        .where(eq(lockCommands.status, 'pending'))
        .groupBy(lockCommands.type)
      return rows.map((row) => ({ labels: { type: row.type }, value: Number(row.n) }))
    },
  )
  metrics.storeGauge(
    'latchkey_gateways_connected',
    'Gateways connected to the broker now, as their status says (all organizations).',
    async () => {
      const [row] = await db
        .select({ n: count() })
        .from(gateways)
        .where(and(eq(gateways.online, true), isNull(gateways.deletedAt)))
      return [{ value: Number(row?.n ?? 0) }]
    },
  )
}
