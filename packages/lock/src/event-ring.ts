/**
 * The event log: a ring of fixed capacity with a monotonic `seq` (1, 2, 3, … never reused, surviving
 * restarts). The server acknowledges what it stored (`ack_events {upToSeq}`) and the lock drops those
 * events at once, so the ring holds only unacknowledged events.
 *
 * Rules:
 * - An event is stored whenever the ring has room; stored events get consecutive seqs.
 * - When the ring is full of unacknowledged events, the lock keeps the oldest ones (the server has not
 *   seen them) and only counts the new event as lost: it gets no seq. As soon as an acknowledgement
 *   makes room, one `events_lost {count}` event is stored (its seq follows the last stored event, which
 *   is exactly where the gap is), and the count starts again from zero.
 * - An event leaves the ring only by acknowledgement, so an event batch re-sent after a restart holds
 *   the same seqs and the server's (lock, seq) key keeps it from being stored twice.
 */
import type { LockEvent } from '@latchkey/protocol'
import type { EventRingState } from './state.ts'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** An event before the ring numbers it. */
export type NewEvent = DistributiveOmit<LockEvent, 'seq'>
/** An event before the lock stamps it with its clock and the ring numbers it. */
export type EventBody = DistributiveOmit<LockEvent, 'seq' | 'at'>

export const EVENT_BATCH_LIMIT = 100

function store(ring: EventRingState, event: NewEvent): void {
  ring.items.push({ ...event, seq: ring.nextSeq } as LockEvent)
  ring.nextSeq += 1
}

/** Reports earlier losses first if there is room for the report. */
function flushLost(ring: EventRingState, capacity: number, at: number | null): void {
  if (ring.lost > 0 && ring.items.length < capacity) {
    store(ring, { type: 'events_lost', at, count: ring.lost })
    ring.lost = 0
  }
}

/** Stores an event; returns its seq, or null when the ring was full and the event was counted lost. */
export function recordEvent(ring: EventRingState, capacity: number, event: NewEvent): number | null {
  flushLost(ring, capacity, event.at)
  if (ring.items.length >= capacity) {
    ring.lost += 1
    return null
  }
  store(ring, event)
  return ring.nextSeq - 1
}

/**
 * Drops every event with seq ≤ upToSeq. Acknowledging beyond the last stored event acknowledges what
 * exists and nothing that comes later. Returns the highest seq now acknowledged.
 */
export function ackEvents(
  ring: EventRingState,
  capacity: number,
  upToSeq: number,
  at: number | null,
): number {
  const acked = Math.min(upToSeq, ring.nextSeq - 1)
  ring.items = ring.items.filter((e) => e.seq > acked)
  flushLost(ring, capacity, at)
  return acked
}

/** The oldest unacknowledged events, at most EVENT_BATCH_LIMIT. */
export function pendingBatch(ring: EventRingState): LockEvent[] {
  return ring.items.slice(0, EVENT_BATCH_LIMIT)
}

export function ringView(ring: EventRingState, capacity: number) {
  return {
    capacity,
    unacked: ring.items.length,
    firstUnackedSeq: ring.items[0]?.seq ?? null,
    lastSeq: ring.nextSeq - 1,
    notYetReportedLost: ring.lost,
  }
}
